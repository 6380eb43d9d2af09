import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { chargeListSchema, orderSchema, paymentSchema, type Order } from '@cb-lab/contracts';
import { COMPOSE_BREAKER_OPEN_MS, waitFor, type Stack } from '@cb-lab/testing';

/** Orders per second while a fault is played: enough to keep every replica busy. */
const RATE = 8;
/**
 * Longest an order may take: orders waits 3 s for payments (PAYMENTS_TIMEOUT_MS), 1 s for one
 * Redis command; anything past this is a hang.
 */
const ORDER_BUDGET_MS = 6_000;
/** Time for every order to become final once the fault is gone: open period, probe, reconciler. */
const SETTLE_MS = 2 * COMPOSE_BREAKER_OPEN_MS + 60_000;

interface Answer {
  key: string;
  /** The order's id, when it was answered with one. */
  orderId?: string;
  /**
   * The HTTP status; `connection failed` when the connection was refused or cut before an
   * answer (at once: nothing was listening); `no answer` when nothing came within the budget.
   */
  status: number | 'connection failed' | 'no answer';
  ms: number;
}

async function placeOrder(orders: string, key: string): Promise<Answer & { order?: Order }> {
  const started = performance.now();
  try {
    const response = await fetch(`${orders}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify({ customerId: 'fault-matrix', amount: 1250, currency: 'EUR' }),
      signal: AbortSignal.timeout(ORDER_BUDGET_MS),
    });
    const body: unknown = await response.json();
    const ms = performance.now() - started;
    return {
      key,
      status: response.status,
      ms,
      ...(response.status < 300 ? { order: orderSchema.parse(body) } : {}),
    };
  } catch (error) {
    const ms = performance.now() - started;
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    return { key, status: timedOut ? 'no answer' : 'connection failed', ms };
  }
}

/** Orders on a fixed schedule, each with its own Idempotency-Key, until `until` resolves. */
async function orderLoad(orders: string, scenario: string, until: Promise<unknown>) {
  const answers: Answer[] = [];
  const control = { stopped: false };
  const stop = () => {
    control.stopped = true;
  };
  // A fault that fails stops the load too; the test sees its error where it awaits it.
  until.then(stop, stop);
  const inFlight: Promise<void>[] = [];
  const started = performance.now();
  for (let n = 0; !control.stopped; n += 1) {
    const wait = (n * 1_000) / RATE - (performance.now() - started);
    if (wait > 0) await sleep(wait);
    inFlight.push(
      placeOrder(orders, `${scenario}-${n}`).then(({ key, status, ms, order }) => {
        answers.push({ key, status, ms, ...(order ? { orderId: order.id } : {}) });
      }),
    );
  }
  await Promise.all(inFlight);
  return answers;
}

const admin = (stack: Stack) => ({ authorization: `Bearer ${stack.adminToken}` });

/** Each replica's breaker state by compose name; `unreachable` for one that does not answer. */
const circuitStates = async (stack: Stack): Promise<Record<string, string>> =>
  Object.fromEntries(
    Object.entries(await stack.circuits()).map(([name, view]) => [
      name,
      view?.state ?? 'unreachable',
    ]),
  );

const allIn = async (stack: Stack, state: string) =>
  Object.values(await circuitStates(stack)).every((s) => s === state);

/** Sends a few orders until every replica reports the breaker closed (a probe needs a call). */
async function convergeClosed(stack: Stack): Promise<void> {
  let n = 0;
  await waitFor(
    async () => {
      await placeOrder(stack.orders, `converge-${Date.now()}-${(n += 1)}`);
      return allIn(stack, 'closed');
    },
    'every replica to report the breaker closed',
    { limitMs: SETTLE_MS, everyMs: 200 },
  );
}

/**
 * The invariants every fault must keep, checked once it is over:
 * - every request was answered within the budget (its connection refused or cut at once only
 *   while orders itself was down), never left hanging;
 * - nothing was lost: each key sent again is answered with its order, and every order
 *   reaches `paid` or `payment_failed`;
 * - the gateways made at most one charge per payment, a charge only for a paid order, and
 *   exactly one for each paid order.
 */
async function expectNothingLost(
  stack: Stack,
  answers: readonly Answer[],
  startedAt: string,
  { refusalsAllowed = false } = {},
): Promise<string> {
  expect(answers.length).toBeGreaterThan(0);
  const hung = answers.filter((a) => a.status === 'no answer');
  expect(hung).toEqual([]);
  const unexpected = answers.filter(
    (a) =>
      !(
        (typeof a.status === 'number' && [200, 201, 202, 503].includes(a.status)) ||
        (a.status === 'connection failed' && refusalsAllowed)
      ),
  );
  expect(unexpected).toEqual([]);

  // The same key again: the order it created, or a new one if the first request never got in.
  const orders: Order[] = [];
  const unanswered: Answer[] = [];
  const forgotten: { key: string; answered: string; now: string }[] = [];
  for (const { key, orderId } of answers) {
    const again = await placeOrder(stack.orders, key);
    if (again.order) orders.push(again.order);
    else unanswered.push(again);
    if (orderId !== undefined && again.order && again.order.id !== orderId)
      forgotten.push({ key, answered: orderId, now: again.order.id });
  }
  expect(unanswered).toEqual([]);
  // An order once answered is never forgotten: its key finds it again.
  expect(forgotten).toEqual([]);

  const final = new Map<string, Order>();
  await waitFor(
    async () => {
      for (const order of orders.filter((o) => !final.has(o.id))) {
        const now = orderSchema.parse(
          await (await fetch(`${stack.orders}/orders/${order.id}`)).json(),
        );
        if (now.status === 'paid' || now.status === 'payment_failed') final.set(order.id, now);
      }
      return final.size === orders.length;
    },
    'every order to reach a final status',
    { limitMs: SETTLE_MS, everyMs: 200 },
  );

  const ours = new Set(orders.map((o) => o.id));
  const since = Date.parse(startedAt) - 1_000;
  const approvedByOrder = new Map<string, number>();
  for (const gateway of [stack.gateway, stack.secondaryGateway]) {
    const { charges } = chargeListSchema.parse(
      await (await fetch(`${gateway}/admin/charges`, { headers: admin(stack) })).json(),
    );
    const recent = charges.filter((c) => Date.parse(c.createdAt) >= since);
    for (const charge of recent.filter((c) => c.status === 'approved')) {
      const payment = await fetch(
        `${Object.values(stack.payments)[0]}/payments/${charge.reference}`,
      );
      if (payment.status !== 200) continue;
      const { orderId } = paymentSchema.parse(await payment.json());
      if (!ours.has(orderId)) continue;
      approvedByOrder.set(orderId, (approvedByOrder.get(orderId) ?? 0) + 1);
      // A charge belongs to a paid order whose payment it is.
      expect(final.get(orderId)).toMatchObject({ status: 'paid', paymentId: charge.reference });
    }
  }
  const paid = [...final.values()].filter((o) => o.status === 'paid');
  for (const order of paid)
    expect({ order: order.id, charges: approvedByOrder.get(order.id) }).toEqual({
      order: order.id,
      charges: 1,
    });
  return `${answers.length} orders sent (${tally(answers.map((a) => String(a.status)))}); ${
    final.size
  } final (${tally([...final.values()].map((o) => o.status))}); one charge for each paid order`;
}

/** `201: 40, 503: 3`: how many of each. */
const tally = (values: readonly string[]): string =>
  [
    ...values.reduce(
      (counts, v) => counts.set(v, (counts.get(v) ?? 0) + 1),
      new Map<string, number>(),
    ),
  ]
    .map(([value, count]) => `${value}: ${count}`)
    .join(', ');

/** Plays `fault` under load, heals, and checks the invariants and the breaker's convergence. */
export async function underLoad(
  stack: Stack,
  scenario: string,
  fault: () => Promise<void>,
  options?: { refusalsAllowed?: boolean },
): Promise<void> {
  const startedAt = new Date().toISOString();
  const playing = fault();
  const answers = await orderLoad(stack.orders, scenario, playing);
  await playing;
  await stack.setGatewayFaults({});
  await convergeClosed(stack);
  const summary = await expectNothingLost(stack, answers, startedAt, options);
  await convergeClosed(stack);
  process.stdout.write(`${scenario}: ${summary}\n`);
}

/** The compose name (`payments-2`) of the replica whose INSTANCE (its container id) is `instance`. */
async function replicaNamed(stack: Stack, instance: string): Promise<string | undefined> {
  for (const name of Object.keys(stack.payments)) {
    const { output } = await stack.environment.getContainer(name).exec(['hostname']);
    if (output.trim() === instance) return name;
  }
  return undefined;
}

/** The replica holding the half-open probe lease right now, from the lease's token in Redis. */
async function probeHolder(stack: Stack): Promise<string | undefined> {
  const { output } = await stack.environment
    .getContainer('redis-1')
    .exec(['redis-cli', '--user', 'lab', '--no-auth-warning', 'get', '{cb:payment-gateway}:probe']);
  const token = output.trim();
  // Tokens are `replica#instance#n`.
  return token === '' ? undefined : token.split('#')[0];
}

async function restart(stack: Stack, name: string): Promise<void> {
  await stack.container(name).start();
  await waitFor(
    async () =>
      (await fetch(`${stack.payments[name] ?? stack.orders}/readyz`).catch(() => null))?.ok ===
      true,
    `${name} to be ready again`,
    { limitMs: 60_000, everyMs: 200 },
  );
}

/**
 * The fault matrix: each fault played under steady order load on the real
 * compose stack, then the same invariants checked.
 */
export function faultMatrix(running: () => Stack): void {
  describe('fault matrix under load', () => {
    it('Redis killed and restarted: orders fail fast while it is away, nothing is lost', async () => {
      const stack = running();
      const redis = stack.container('redis-1');
      await underLoad(stack, 'redis-killed', async () => {
        await sleep(2_000);
        await redis.kill();
        await sleep(4_000);
        await redis.start();
        await sleep(4_000);
      });
    });

    it('Redis paused: requests wait at most a command timeout, nothing is lost', async () => {
      const stack = running();
      const redis = stack.container('redis-1');
      await underLoad(stack, 'redis-paused', async () => {
        await sleep(2_000);
        await redis.pause();
        await sleep(4_000);
        await redis.unpause();
        await sleep(3_000);
      });
    });

    it('a payments replica killed while it holds the half-open probe: another probes, all converge', async () => {
      const stack = running();
      let killed: string | undefined;
      await underLoad(stack, 'probe-holder-killed', async () => {
        // A gateway that never answers: the probe hangs for its whole timeout, long enough to catch.
        await stack.setGatewayFaults({ timeoutRate: 1 });
        await waitFor(() => allIn(stack, 'open'), 'the breaker to open everywhere', {
          limitMs: 30_000,
          everyMs: 100,
        });
        const until = Date.now() + 3 * COMPOSE_BREAKER_OPEN_MS;
        while (killed === undefined && Date.now() < until) {
          const holder = await probeHolder(stack);
          killed = holder === undefined ? undefined : await replicaNamed(stack, holder);
          if (killed === undefined) await sleep(50);
        }
        expect(killed).toBeDefined();
        await stack.container(killed ?? '').kill();
        await stack.setGatewayFaults({});
        // The dead replica's lease runs out; a live replica probes the healed gateway.
        await waitFor(
          async () =>
            Object.entries(await circuitStates(stack)).every(
              ([name, state]) => name === killed || state === 'closed',
            ),
          'the live replicas to close the breaker',
          { limitMs: SETTLE_MS, everyMs: 200 },
        );
        await restart(stack, killed ?? '');
      });
      expect(await circuitStates(stack)).toEqual({
        'payments-1': 'closed',
        'payments-2': 'closed',
        'payments-3': 'closed',
      });
    });

    it('a payments replica restarted during an outage joins the open breaker, then all close', async () => {
      const stack = running();
      await underLoad(stack, 'replica-restarted', async () => {
        await stack.setGatewayFaults({ errorRate: 1, errorStatus: 503 });
        await waitFor(() => allIn(stack, 'open'), 'the breaker to open everywhere', {
          limitMs: 30_000,
          everyMs: 100,
        });
        await stack.container('payments-2').kill();
        await sleep(1_000);
        await restart(stack, 'payments-2');
        // It comes back into the cluster's state, not a fresh closed breaker of its own.
        expect((await circuitStates(stack))['payments-2']).toBe('open');
        // Healed under load: one probe after the open period closes it on all three.
        await stack.setGatewayFaults({});
        await sleep(COMPOSE_BREAKER_OPEN_MS + 2_000);
      });
    });

    it('the gateway flapping faster than the open period: the breaker follows, nothing is lost', async () => {
      const stack = running();
      await underLoad(stack, 'fast-flapping', async () => {
        const half = COMPOSE_BREAKER_OPEN_MS / 5;
        const response = await fetch(`${stack.gateway}/admin/scenario`, {
          method: 'POST',
          headers: { ...admin(stack), 'content-type': 'application/json' },
          body: JSON.stringify({
            name: 'fast-flapping',
            steps: [
              { name: 'errors', durationMs: half, faults: { errorRate: 1, errorStatus: 503 } },
              { name: 'healthy', durationMs: half, faults: {} },
            ],
            repeat: 5,
          }),
        });
        expect(response.status).toBe(201);
        await sleep(10 * half);
        await fetch(`${stack.gateway}/admin/scenario`, { method: 'DELETE', headers: admin(stack) });
      });
    });

    it('orders restarted: refused at once while it is down, and what it was doing is finished', async () => {
      const stack = running();
      await underLoad(
        stack,
        'orders-restarted',
        async () => {
          await sleep(2_000);
          await stack.container('orders-1').kill();
          await sleep(2_000);
          await restart(stack, 'orders-1');
          await sleep(3_000);
        },
        { refusalsAllowed: true },
      );
    });
  });
}
