import { createMetrics, RecordStore, type Logger } from '@cb-lab/shared';
import {
  captureLogger,
  expireFiller,
  fillPastMemoryLimit,
  memoryState,
  sampleValue,
  startRedis,
  Teardown,
  type TestRedis,
  waitFor,
} from '@cb-lab/testing';
import type { Redis } from 'ioredis';
import {
  startGateway,
  TEST_CARD_LIMIT_MINOR,
  type TestGateway,
} from '../../payment-gateway/src/app.fixture';
import {
  startPayments,
  TEST_ADMIN_TOKEN,
  type RunningPayments,
} from '../../payments/src/app.fixture';
import { startOrders, type RunningOrders } from './app.fixture';
import { FINAL_ORDER_STATUSES, type Order } from './order';
import { OrderReconciler, pendingOrders } from './order-reconciler';
import { createOrdersMetrics } from './orders-metrics';
import type { PaymentAnswer } from './payment-answer';
import { PaymentsUnavailableError, type PaymentsClient } from './payments-client';

jest.setTimeout(60_000);

const PENDING_KEY = '{orders}:pending';
const ATTEMPTS_KEY = '{orders}:pending:attempts';

const suite = new Teardown();
let redis: TestRedis;
let admin: Redis;
let gateway: TestGateway;
/** What one test starts; stopped after it, so no reconciler of one test works on the next one's orders. */
let started: Teardown;

beforeAll(async () => {
  redis = suite.add(await startRedis(), (r) => r.stop());
  admin = redis.connect();
  gateway = await startGateway(suite);
});
afterAll(() => suite.run());

beforeEach(async () => {
  started = new Teardown();
  await admin.flushall();
  await gateway.setFaults(null);
});
afterEach(() => started.run());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Payments that queue what arrives while the breaker is open; one failure opens it, for a minute:
 * no order placed while it is open can become the half-open probe, however slow the machine.
 * The tests close it with {@link heal}.
 */
const queueingPayments = (): Promise<RunningPayments> =>
  startPayments(started, {
    INSTANCE: 'payments-queue',
    REDIS_URL: redis.url,
    GATEWAY_URL: gateway.url,
    FALLBACK_STRATEGY: 'queue',
    BREAKER_FAILURE_THRESHOLD: '1',
    BREAKER_OPEN_MS: '60000',
    QUEUE_SETTLE_INTERVAL_MS: '100',
  });

const ordersFor = (
  payments: RunningPayments,
  instance: string,
  reconcileIntervalMs = '100',
  teardown = started,
): Promise<RunningOrders> =>
  startOrders(teardown, {
    INSTANCE: instance,
    REDIS_URL: redis.url,
    PAYMENTS_URL: payments.url,
    PENDING_RECONCILE_INTERVAL_MS: reconcileIntervalMs,
  });

async function placeOrder(url: string, amount = 1999): Promise<{ status: number; order: Order }> {
  const response = await fetch(`${url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ customerId: 'c-pending', amount, currency: 'EUR' }),
  });
  return { status: response.status, order: (await response.json()) as Order };
}

const getOrder = async (url: string, id: string) =>
  (await (await fetch(`${url}/orders/${id}`)).json()) as Order;

/** Breaks the gateway and trips the breaker with one order (the threshold is one failure). */
async function openBreaker(ordersUrl: string, payments: RunningPayments): Promise<void> {
  await gateway.setFaults({ errorRate: 1, errorStatus: 503 });
  const { order } = await placeOrder(ordersUrl);
  expect(order).toMatchObject({ status: 'payment_failed', failureReason: 'gateway_unavailable' });
  await waitFor(async () => {
    const circuit = (await (await fetch(`${payments.url}/payments/circuit`)).json()) as {
      state: string;
    };
    return circuit.state === 'open';
  }, 'the breaker to open');
}

/** Heals the gateway and closes the breaker through payments' admin API, as an operator would. */
async function heal(payments: RunningPayments): Promise<void> {
  await gateway.setFaults(null);
  const reset = await fetch(`${payments.url}/payments/circuit/reset`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
  });
  expect(reset.status).toBe(200);
}

/** Places one order per amount, spread over `urls`, while the breaker is open: each is queued. */
async function placePendingOrders(urls: string[], amounts: number[]): Promise<Order[]> {
  const answers = await Promise.all(
    amounts.map((amount, i) => placeOrder(urls[i % urls.length]!, amount)),
  );
  for (const { status, order } of answers) {
    expect(status).toBe(202);
    expect(order.status).toBe('payment_pending');
  }
  return answers.map(({ order }) => order);
}

const reconciled = async (url: string, status: string) =>
  sampleValue(await (await fetch(`${url}/metrics`)).text(), 'orders_reconciled_total', {
    status,
  }) ?? 0;

const reconciledOverall = async (urls: string[]) => {
  let total = 0;
  for (const url of urls)
    total += (await reconciled(url, 'paid')) + (await reconciled(url, 'payment_failed'));
  return total;
};

/**
 * Waits until `count` settlements are counted over `urls` and the pending set
 * is empty, then lets a few more rounds run so a second settlement of any
 * order would be counted too.
 */
async function settledEverywhere(urls: string[], count: number): Promise<number> {
  await waitFor(
    async () => (await admin.zcard(PENDING_KEY)) === 0 && (await reconciledOverall(urls)) >= count,
    `${count} pending orders to be reconciled`,
  );
  await sleep(300);
  return reconciledOverall(urls);
}

describe('orders left payment_pending by the queue fallback', () => {
  it('are settled once the gateway heals: paid when approved, payment_failed when declined', async () => {
    const payments = await queueingPayments();
    const { url } = await ordersFor(payments, 'orders-a');
    await openBreaker(url, payments);
    const pending = await placePendingOrders(
      [url],
      [1999, 2500, 100, 4200, TEST_CARD_LIMIT_MINOR + 1],
    );
    expect(await admin.zcard(PENDING_KEY)).toBe(pending.length);

    await heal(payments);
    expect(await settledEverywhere([url], pending.length)).toBe(pending.length);

    const settled = await Promise.all(pending.map((order) => getOrder(url, order.id)));
    for (const [i, order] of settled.entries())
      expect(order).toMatchObject({ id: pending[i]!.id, paymentId: pending[i]!.paymentId });
    expect(settled.slice(0, 4).map((order) => order.status)).toEqual(Array(4).fill('paid'));
    expect(settled[4]).toMatchObject({
      status: 'payment_failed',
      failureReason: 'insufficient_funds',
    });
    expect(await reconciled(url, 'paid')).toBe(4);
    expect(await reconciled(url, 'payment_failed')).toBe(1);
  });

  it('are not lost when orders restarts: the next instance settles them', async () => {
    const payments = await queueingPayments();
    const before = new Teardown();
    started.add(before, (t) => t.run());
    // Its first round would come long after this test: it only takes the orders.
    const first = await ordersFor(payments, 'orders-before', '600000', before);
    await openBreaker(first.url, payments);
    const pending = await placePendingOrders([first.url], [1999, 2999, 3999]);
    await before.run();

    const next = await ordersFor(payments, 'orders-after');
    await heal(payments);
    expect(await settledEverywhere([next.url], pending.length)).toBe(pending.length);
    for (const order of pending)
      expect(await getOrder(next.url, order.id)).toMatchObject({ status: 'paid' });
  });

  it('are settled once each when two orders instances reconcile the same set', async () => {
    const payments = await queueingPayments();
    const a = await ordersFor(payments, 'orders-a', '50');
    const b = await ordersFor(payments, 'orders-b', '50');
    await openBreaker(a.url, payments);
    const pending = await placePendingOrders([a.url, b.url], Array<number>(10).fill(1999));
    expect(await admin.zcard(PENDING_KEY)).toBe(10);

    await heal(payments);
    expect(await settledEverywhere([a.url, b.url], 10)).toBe(10);
    for (const order of pending)
      expect(await getOrder(b.url, order.id)).toMatchObject({ status: 'paid' });
  });
});

describe('orders and payments on a Redis at its memory limit', () => {
  afterEach(() => admin.config('SET', 'maxmemory', '0'));

  it('refuse new orders with 503 store_full, keep every pending order and queued payment, and settle them once Redis expires records', async () => {
    const payments = await queueingPayments();
    const { url } = await ordersFor(payments, 'orders-full');
    await openBreaker(url, payments);
    const pending = await placePendingOrders([url], [1999, 2999, 3999]);
    await fillPastMemoryLimit(admin);

    const refused = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ customerId: 'c-full', amount: 1999, currency: 'EUR' }),
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('30');
    expect(await refused.json()).toMatchObject({ error: 'store_full' });
    // The breaker still decides on a full Redis: an operator's reset goes through.
    await heal(payments);
    // Rounds of the reconciler and the settler come and go: none can take its lock, none loses anything.
    await sleep(500);
    expect(await admin.zcard(PENDING_KEY)).toBe(pending.length);
    expect(await admin.zcard('{payments}:queue')).toBe(pending.length);
    for (const order of pending)
      expect(await getOrder(url, order.id)).toMatchObject({ status: 'payment_pending' });
    expect(await memoryState(admin)).toEqual({ full: true, evicted: 0 });

    await expireFiller(admin);
    expect(await settledEverywhere([url], pending.length)).toBe(pending.length);
    for (const order of pending)
      expect(await getOrder(url, order.id)).toMatchObject({ status: 'paid' });
    expect((await placeOrder(url)).status).toBe(201);
  });
});

describe('OrderReconciler', () => {
  const storeOn = (connection: Redis) =>
    new RecordStore<Order>(connection, {
      prefix: 'orders',
      finalStatuses: FINAL_ORDER_STATUSES,
      ttlSeconds: 3_600,
    });

  /** A reconciler on its own connection and registry, driven by `reconcileOnce()` only. */
  function reconcilerWith(
    fake: Partial<Pick<PaymentsClient, 'find' | 'pay'>>,
    instance = 'orders-test',
    {
      logger = captureLogger().logger,
      intervalMs = 60_000,
      maxAttempts,
    }: { logger?: Logger; intervalMs?: number; maxAttempts?: number } = {},
  ) {
    const unexpected = (call: string) => () => Promise.reject(new Error(`unexpected ${call}`));
    const payments = { find: fake.find ?? unexpected('find'), pay: fake.pay ?? unexpected('pay') };
    const connection = redis.connect();
    const { registry } = createMetrics({ service: 'orders', instance });
    const reconciler = new OrderReconciler({
      pending: pendingOrders(connection),
      store: storeOn(connection),
      payments,
      intervalMs,
      callTimeoutMs: 1_000,
      ...(maxAttempts === undefined ? {} : { maxAttempts }),
      metrics: createOrdersMetrics(registry),
      logger,
    });
    const settledCount = async () =>
      sampleValue(await registry.metrics(), 'orders_reconciled_total') ?? 0;
    return { reconciler, settledCount };
  }

  /** Stores `count` orders as payment_pending, payment `payment-<i>` for order `order-<i>`. */
  async function seedPending(count: number): Promise<Order[]> {
    const store = storeOn(admin);
    const pending = pendingOrders(admin);
    const orders: Order[] = [];
    for (let i = 0; i < count; i += 1) {
      const now = new Date().toISOString();
      const order: Order = {
        id: `order-${i}`,
        customerId: 'c',
        amount: 100,
        currency: 'EUR',
        status: 'payment_pending',
        paymentId: `payment-${i}`,
        createdAt: now,
        updatedAt: now,
      };
      await store.create(order);
      await pending.add(order.id);
      orders.push(order);
    }
    return orders;
  }

  const statuses = async (orders: Order[]) => {
    const store = storeOn(admin);
    return Promise.all(orders.map(async (order) => (await store.find(order.id))?.status));
  };

  const approving = (delayMs = 0): Pick<PaymentsClient, 'find'> => ({
    find: async () => {
      await sleep(delayMs);
      return { outcome: 'approved', paymentId: 'payment' };
    },
  });

  it('lets one instance at a time work, so concurrent rounds settle each order once', async () => {
    const orders = await seedPending(10);
    const [a, b] = [reconcilerWith(approving(5), 'a'), reconcilerWith(approving(5), 'b')];

    const counts = await Promise.all([a.reconciler.reconcileOnce(), b.reconciler.reconcileOnce()]);

    expect([...counts].sort((x, y) => x - y)).toEqual([0, 10]);
    expect((await a.settledCount()) + (await b.settledCount())).toBe(10);
    expect(await statuses(orders)).toEqual(Array(10).fill('paid'));
    expect(await admin.zcard(PENDING_KEY)).toBe(0);
  });

  it('never overwrites a final status, even when another round settled the order first', async () => {
    const [order] = await seedPending(1);
    const other = storeOn(admin);
    const { reconciler, settledCount } = reconcilerWith({
      find: async () => {
        // Another instance, past an expired lock, settles the order while this one asks payments.
        await other.settle({
          ...order!,
          status: 'payment_failed',
          failureReason: 'insufficient_funds',
        });
        return { outcome: 'approved', paymentId: order!.paymentId! };
      },
    });

    // Finished (it leaves the line), but not settled by this round.
    expect(await reconciler.reconcileOnce()).toBe(1);
    expect(await other.find(order!.id)).toMatchObject({
      status: 'payment_failed',
      failureReason: 'insufficient_funds',
    });
    expect(await settledCount()).toBe(0);
    expect(await admin.zcard(PENDING_KEY)).toBe(0);
  });

  it('keeps orders whose payment is unsettled or unknown, and drops those gone or already final', async () => {
    const [unsettled, unknown, gone, final] = await seedPending(4);
    await admin.del(`{orders}:record:${gone!.id}`);
    await storeOn(admin).settle({ ...final!, status: 'paid' });
    const states: Record<string, PaymentAnswer | undefined> = {
      [unsettled!.paymentId!]: { outcome: 'pending', paymentId: unsettled!.paymentId! },
      [final!.paymentId!]: { outcome: 'approved', paymentId: final!.paymentId! },
    };
    const { reconciler, settledCount } = reconcilerWith({
      find: (paymentId) => Promise.resolve(states[paymentId]),
    });

    // The gone and the final one leave the line; nothing is settled.
    expect(await reconciler.reconcileOnce()).toBe(2);
    expect(await settledCount()).toBe(0);
    expect(await admin.zrange(PENDING_KEY, 0, -1)).toEqual([unsettled!.id, unknown!.id]);
    expect(await statuses([unsettled!, unknown!, final!])).toEqual([
      'payment_pending',
      'payment_pending',
      'paid',
    ]);
  });

  it('fails an order whose queued payment payments failed for good, with its reason', async () => {
    const [order] = await seedPending(1);
    const { reconciler, settledCount } = reconcilerWith({
      find: (paymentId) =>
        Promise.resolve({ outcome: 'failed', paymentId, reason: 'settlement_failed' }),
    });

    expect(await reconciler.reconcileOnce()).toBe(1);
    expect(await storeOn(admin).find(order!.id)).toMatchObject({
      status: 'payment_failed',
      paymentId: order!.paymentId,
      failureReason: 'settlement_failed',
    });
    expect(await settledCount()).toBe(1);
  });

  it('finishes an order its request abandoned (a crashed instance) by asking payments again with the same key', async () => {
    const store = storeOn(admin);
    const pending = pendingOrders(admin);
    const longAgo = new Date(Date.now() - 60_000).toISOString();
    const fresh = new Date().toISOString();
    const order = (id: string, updatedAt: string): Order => ({
      id,
      customerId: 'c',
      amount: 100,
      currency: 'EUR',
      status: 'processing',
      createdAt: updatedAt,
      updatedAt,
    });
    for (const o of [order('abandoned', longAgo), order('in-flight', fresh)]) {
      await store.create(o);
      await pending.add(o.id);
    }
    const asked: string[] = [];
    const { reconciler } = reconcilerWith({
      pay: (o) => {
        asked.push(o.id);
        return Promise.resolve({ outcome: 'approved', paymentId: `payment-of-${o.id}` });
      },
    });

    expect(await reconciler.reconcileOnce()).toBe(1);
    // The one still within its request's budget is left to that request.
    expect(asked).toEqual(['abandoned']);
    expect(await store.find('abandoned')).toMatchObject({
      status: 'paid',
      paymentId: 'payment-of-abandoned',
    });
    expect(await store.find('in-flight')).toMatchObject({ status: 'processing' });
    expect(await admin.zrange(PENDING_KEY, 0, -1)).toEqual(['in-flight']);
  });

  it('keeps an order pending while payments still gives no answer, and asks again next round', async () => {
    const store = storeOn(admin);
    const longAgo = new Date(Date.now() - 60_000).toISOString();
    await store.create({
      id: 'silent',
      customerId: 'c',
      amount: 100,
      currency: 'EUR',
      status: 'processing',
      createdAt: longAgo,
      updatedAt: longAgo,
    });
    await pendingOrders(admin).add('silent');
    let answer: Awaited<ReturnType<PaymentsClient['pay']>> = {
      outcome: 'unknown',
      reason: 'payments_timeout',
    };
    const { reconciler } = reconcilerWith({ pay: () => Promise.resolve(answer) });

    expect(await reconciler.reconcileOnce()).toBe(0);
    expect(await store.find('silent')).toMatchObject({ status: 'payment_pending' });
    answer = { outcome: 'failed', reason: 'circuit_open' };
    expect(await reconciler.reconcileOnce()).toBe(1);
    expect(await store.find('silent')).toMatchObject({
      status: 'payment_failed',
      failureReason: 'circuit_open',
    });
    expect(await admin.zcard(PENDING_KEY)).toBe(0);
  });

  it('ends a round when payments cannot be asked, counting nothing against the order, and releases the lock', async () => {
    const [first, second] = await seedPending(2);
    let reachable = false;
    const asked: string[] = [];
    const { reconciler } = reconcilerWith({
      find: (paymentId) => {
        asked.push(paymentId);
        return reachable
          ? Promise.resolve({ outcome: 'approved', paymentId })
          : Promise.reject(new PaymentsUnavailableError('connect ECONNREFUSED'));
      },
    });

    expect(await reconciler.reconcileOnce()).toBe(0);
    // The second order is not asked about: payments would not answer for it either.
    expect(asked).toEqual([first!.paymentId]);
    expect(await statuses([first!, second!])).toEqual(['payment_pending', 'payment_pending']);
    expect(await admin.zcard(PENDING_KEY)).toBe(2);
    expect(await admin.hlen(ATTEMPTS_KEY)).toBe(0);

    // The lock outlives ten minutes of rounds, so taking it again proves the failed round gave it back.
    reachable = true;
    expect(await reconciler.reconcileOnce()).toBe(2);
  });

  it('retries an order whose reconciling throws with a backoff behind the others, then gives it up, still pending', async () => {
    const [poisoned, ...good] = await seedPending(11);
    const log = captureLogger('orders', 'orders-test');
    const { reconciler, settledCount } = reconcilerWith(
      {
        find: (paymentId) =>
          paymentId === poisoned!.paymentId
            ? Promise.reject(new Error('payments answered 400 for payment payment-0'))
            : Promise.resolve({ outcome: 'approved', paymentId }),
      },
      'orders-test',
      { logger: log.logger, intervalMs: 50, maxAttempts: 3 },
    );

    expect(await reconciler.reconcileOnce()).toBe(10);
    expect(await statuses(good)).toEqual(Array(10).fill('paid'));
    expect(await settledCount()).toBe(10);
    await waitFor(async () => {
      await reconciler.reconcileOnce();
      return (await admin.zcard(PENDING_KEY)) === 0;
    }, 'the poisoned order to be given up');

    expect(await statuses([poisoned!])).toEqual(['payment_pending']);
    expect(await admin.hlen(ATTEMPTS_KEY)).toBe(0);
    const lines = log.lines().filter((line) => line.orderId === poisoned!.id);
    expect(lines.map((line) => [line.level, line.message, line.attempt])).toEqual([
      ['warn', 'pending order failed unexpectedly; retrying later', 1],
      ['warn', 'pending order failed unexpectedly; retrying later', 2],
      ['error', 'pending order given up after 3 failed attempts', undefined],
    ]);
    expect(lines.map((line) => (line.error as { message: string }).message)).toEqual(
      Array(3).fill('payments answered 400 for payment payment-0'),
    );
    expect(lines.slice(0, 2).map((line) => line.retryInMs)).toEqual([50, 100]);
  });

  it('stop() waits for the round in progress', async () => {
    const [order] = await seedPending(1);
    let asked!: () => void;
    const askedPayments = new Promise<void>((resolve) => (asked = resolve));
    let answer!: (state: PaymentAnswer) => void;
    const { reconciler } = reconcilerWith({
      find: () => {
        asked();
        return new Promise((resolve) => (answer = resolve));
      },
    });

    const round = reconciler.reconcileOnce();
    await askedPayments;
    let stopped = false;
    const stopping = reconciler.stop().then(() => {
      stopped = true;
    });
    await sleep(50);
    expect(stopped).toBe(false);

    answer({ outcome: 'approved', paymentId: order!.paymentId! });
    await stopping;
    expect(await round).toBe(1);
    expect(await statuses([order!])).toEqual(['paid']);
  });
});
