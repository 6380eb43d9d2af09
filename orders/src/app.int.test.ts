import { type RunningServer } from '@cb-lab/shared';
import {
  captureLogger,
  sampleValue,
  startRedis,
  Teardown,
  waitFor,
  type TestRedis,
} from '@cb-lab/testing';
import { startGateway, type TestGateway } from '../../payment-gateway/src/app.fixture';
import { startPayments } from '../../payments/src/app.fixture';
import { startOrders as startOrdersInstance } from './app.fixture';
import type { Order } from './order';
import { PaymentsClient } from './payments-client';
import { ReplicaBalancer } from './replica-balancer';

jest.setTimeout(60_000);

const teardown = new Teardown();
let redis: TestRedis;
let gateway: TestGateway;
let payments: RunningServer;

beforeAll(async () => {
  redis = teardown.add(await startRedis(), (r) => r.stop());
  gateway = await startGateway(teardown);
  payments = await startPaymentsReplica('payments-a');
});
afterAll(() => teardown.run());

async function startPaymentsReplica(
  instance: string,
  host = '127.0.0.1',
  port = 0,
): Promise<RunningServer> {
  const env = { INSTANCE: instance, REDIS_URL: redis.url, GATEWAY_URL: gateway.url };
  return (await startPayments(teardown, env, { host, port })).server;
}

async function startOrders(env: Record<string, string> = {}): Promise<string> {
  const orders = await startOrdersInstance(teardown, {
    REDIS_URL: redis.url,
    PAYMENTS_URL: payments.url,
    ...env,
  });
  return orders.url;
}

const placeOrder = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

const approvedCharges = async () =>
  sampleValue(await (await fetch(`${gateway.url}/metrics`)).text(), 'gateway_charges_total', {
    outcome: 'approved',
  }) ?? 0;

describe('orders with a real Redis, payments and gateway', () => {
  it('pays an order and persists it where another orders instance can read it', async () => {
    const url = await startOrders();
    const response = await placeOrder(url, { customerId: 'c-1', amount: 1999, currency: 'EUR' });
    expect(response.status).toBe(201);
    const order = (await response.json()) as Order;
    expect(order).toMatchObject({
      status: 'paid',
      customerId: 'c-1',
      amount: 1999,
      currency: 'EUR',
    });
    expect(order.paymentId).toEqual(expect.any(String));
    expect(response.headers.get('location')).toBe(`/orders/${order.id}`);

    const otherInstance = await startOrders({ INSTANCE: 'orders-other' });
    expect(await (await fetch(`${otherInstance}/orders/${order.id}`)).json()).toEqual(order);
    expect(
      await (await fetch(`${payments.url}/payments/${order.paymentId ?? ''}`)).json(),
    ).toMatchObject({
      orderId: order.id,
      status: 'approved',
    });
  });

  it('creates one order and one charge per Idempotency-Key', async () => {
    const url = await startOrders();
    const before = await approvedCharges();
    const body = { customerId: 'c-2', amount: 500, currency: 'USD' };
    const first = await placeOrder(url, body, { 'Idempotency-Key': 'checkout-42' });
    const again = await placeOrder(url, body, { 'Idempotency-Key': 'checkout-42' });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(await first.json());
    expect(await approvedCharges()).toBe(before + 1);

    const reuse = await placeOrder(
      url,
      { ...body, amount: 501 },
      { 'Idempotency-Key': 'checkout-42' },
    );
    expect(reuse.status).toBe(422);
    expect(await reuse.json()).toMatchObject({ error: 'idempotency_key_reused' });
  });

  it('keeps an order, its Idempotency-Key and its payment for RECORD_RETENTION_HOURS, not longer', async () => {
    const url = await startOrders({ RECORD_RETENTION_HOURS: '2' });
    const placed = await placeOrder(
      url,
      { customerId: 'c-ttl', amount: 700, currency: 'EUR' },
      { 'Idempotency-Key': 'retention-1' },
    );
    expect(placed.status).toBe(201);
    const order = (await placed.json()) as { id: string; paymentId: string };
    const client = redis.connect();
    const ttl = async (key: string) => client.ttl(key);
    // Set when created, in one step with the key; a few seconds may have passed since.
    for (const key of [`{orders}:record:${order.id}`, '{orders}:idempotency:retention-1']) {
      expect(await ttl(key)).toBeGreaterThan(2 * 3_600 - 60);
      expect(await ttl(key)).toBeLessThanOrEqual(2 * 3_600);
    }
    // Payments here runs on its default, 6 hours.
    expect(await ttl(`{payments}:record:${order.paymentId}`)).toBeGreaterThan(6 * 3_600 - 60);
    expect(await ttl(`{payments}:record:${order.paymentId}`)).toBeLessThanOrEqual(6 * 3_600);
  });

  it('ends a declined order as payment_failed with the reason', async () => {
    const url = await startOrders();
    const response = await placeOrder(url, { customerId: 'c-3', amount: 100_001, currency: 'EUR' });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({
      status: 'payment_failed',
      failureReason: 'insufficient_funds',
    });
  });

  it('ends the order as payment_failed when payments cannot be reached', async () => {
    const url = await startOrders({ PAYMENTS_URL: 'http://127.0.0.1:9' });
    const response = await placeOrder(url, { customerId: 'c-4', amount: 100, currency: 'EUR' });
    expect(response.status).toBe(201);
    const order = (await response.json()) as Order;
    expect(order).toMatchObject({
      status: 'payment_failed',
      failureReason: 'payments_unavailable',
    });
    expect(await (await fetch(`${url}/orders/${order.id}`)).json()).toEqual(order);
  });

  it('keeps the order pending when payments answers too late, then settles it by asking again: one charge', async () => {
    // Payments waits for the slow gateway longer than orders waits for payments.
    await gateway.setFaults({ latencyMs: 500 });
    try {
      const url = await startOrders({
        PAYMENTS_TIMEOUT_MS: '200',
        PENDING_RECONCILE_INTERVAL_MS: '100',
      });
      const approvedBefore = await approvedCharges();
      const response = await placeOrder(url, { customerId: 'c-5', amount: 100, currency: 'EUR' });
      const order = (await response.json()) as Order;
      expect(order).toMatchObject({ status: 'payment_pending' });
      expect(order.paymentId).toBeUndefined();

      await waitFor(
        async () =>
          ((await (await fetch(`${url}/orders/${order.id}`)).json()) as Order).status === 'paid',
        'the reconciler to learn the payment was made',
      );
      expect(await approvedCharges()).toBe(approvedBefore + 1);
    } finally {
      await gateway.setFaults(null);
    }
  });

  it('rejects invalid orders with a 400 naming each field, and unknown ids with a 404', async () => {
    const url = await startOrders();
    const response = await placeOrder(url, { customerId: '', amount: 12.5, currency: 'eur' });
    expect(response.status).toBe(400);
    const { error, message } = (await response.json()) as { error: string; message: string };
    expect(error).toBe('invalid_request');
    expect(message).toMatch(/customerId: .*amount: .*currency: /);
    expect((await fetch(`${url}/orders/nope`)).status).toBe(404);
  });

  it('counts orders by final status', async () => {
    const url = await startOrders({ INSTANCE: 'orders-metrics' });
    await placeOrder(url, { customerId: 'c-6', amount: 100, currency: 'EUR' });
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(
      sampleValue(text, 'orders_total', {
        status: 'paid',
        service: 'orders',
        instance: 'orders-metrics',
      }),
    ).toBe(1);
  });
});

describe('PaymentsClient', () => {
  it('spreads calls over every replica and skips one that refuses connections', async () => {
    const second = await startPaymentsReplica('payments-b', '127.0.0.2', payments.port);
    const balancer = new ReplicaBalancer({
      url: `http://payments.test:${payments.port}`,
      refreshMs: 60_000,
      logger: captureLogger().logger,
      // 127.0.0.3 has nothing listening: a crashed replica.
      lookup: () => Promise.resolve(['127.0.0.1', '127.0.0.2', '127.0.0.3']),
    });
    const client = new PaymentsClient(balancer, {
      timeoutMs: 2_000,
      logger: captureLogger().logger,
    });

    const served = async (server: RunningServer) =>
      sampleValue(
        await (await fetch(`${server.url}/metrics`)).text(),
        'http_server_request_duration_seconds_count',
        { route: '/payments', method: 'POST' },
      ) ?? 0;
    const servedBefore = await served(payments);

    // Round robin over three addresses: .1, .2, then .3 refuses and the call moves on to .1.
    const answers = [];
    for (let i = 0; i < 9; i += 1) {
      const now = new Date().toISOString();
      answers.push(
        await client.pay({
          id: `spread-${i}`,
          customerId: 'c',
          amount: 100,
          currency: 'EUR',
          status: 'processing',
          createdAt: now,
          updatedAt: now,
        }),
      );
    }

    expect(answers.every((answer) => answer.outcome === 'approved')).toBe(true);
    const [a, b] = [await served(payments), await served(second)];
    expect(b).toBe(3);
    expect(a - servedBefore).toBe(6);
  });
});

describe('PaymentsClient.find', () => {
  const logger = captureLogger().logger;

  it('reads a payment’s state, moving on from a replica that refuses connections', async () => {
    const url = await startOrders();
    const placed = (await (
      await placeOrder(url, { customerId: 'c-7', amount: 100_001, currency: 'EUR' })
    ).json()) as Order;
    const balancer = new ReplicaBalancer({
      url: `http://payments.test:${payments.port}`,
      refreshMs: 60_000,
      logger,
      // 127.0.0.3 has nothing listening; the rotation puts it first on every other call.
      lookup: () => Promise.resolve(['127.0.0.1', '127.0.0.3']),
    });
    const client = new PaymentsClient(balancer, { timeoutMs: 2_000, logger });

    for (let i = 0; i < 2; i += 1) {
      expect(await client.find(placed.paymentId ?? '')).toEqual({
        outcome: 'declined',
        paymentId: placed.paymentId,
        reason: 'insufficient_funds',
      });
    }
    expect(await client.find('no-such-payment')).toBeUndefined();
  });

  it('throws when payments cannot be asked, so "unknown" is never mistaken for "no answer"', async () => {
    const balancer = new ReplicaBalancer({ url: 'http://127.0.0.1:9', refreshMs: 60_000, logger });
    const client = new PaymentsClient(balancer, { timeoutMs: 2_000, logger });
    await expect(client.find('any')).rejects.toThrow();
  });
});
