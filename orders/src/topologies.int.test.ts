import {
  startRedisCluster,
  startRedisSentinel,
  Teardown,
  waitFor,
  type TestRedisCluster,
  type TestRedisSentinel,
} from '@cb-lab/testing';
import { startGateway, type TestGateway } from '../../payment-gateway/src/app.fixture';
import { startPayments, TEST_ADMIN_TOKEN } from '../../payments/src/app.fixture';
import { startOrders } from './app.fixture';
import type { Order } from './order';

/*
 * Orders and payments on highly available Redis, configured the way the
 * compose override files configure them: records, idempotency keys, the
 * payment queue and the pending-order reconciler, and the breaker, on a real
 * Redis Cluster (three primaries) and a real Sentinel set.
 */

jest.setTimeout(120_000);

const teardown = new Teardown();
let gateway: TestGateway;
let cluster: TestRedisCluster;
let sentinel: TestRedisSentinel;

beforeAll(async () => {
  gateway = await startGateway(teardown);
  cluster = teardown.add(await startRedisCluster(), (c) => c.stop());
  sentinel = teardown.add(await startRedisSentinel(), (s) => s.stop());
});
afterAll(() => teardown.run());

const TOPOLOGIES: [string, () => Record<string, string>][] = [
  [
    'Redis Cluster',
    () => ({
      REDIS_URL: '',
      REDIS_CLUSTER_NODES: cluster.nodes.join(','),
      REDIS_PASSWORD: cluster.password,
    }),
  ],
  [
    'Redis Sentinel',
    () => ({
      REDIS_URL: '',
      REDIS_SENTINELS: sentinel.sentinels.join(','),
      REDIS_SENTINEL_NAME: sentinel.name,
    }),
  ],
];

const placeOrder = (url: string, key: string, amount = 1999) =>
  fetch(`${url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'Idempotency-Key': key },
    body: JSON.stringify({ customerId: 'c-ha', amount, currency: 'EUR' }),
  });

const admin = (url: string, action: 'isolate' | 'reset') =>
  fetch(`${url}/payments/circuit/${action}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: '{}',
  });

let run = 0;

describe.each(TOPOLOGIES)('orders and payments on %s', (topology, redisEnv) => {
  /** A payments replica and an orders instance on the topology, queueing while the breaker is open. */
  async function startPair() {
    const tag = `${topology.split(' ')[1]?.toLowerCase() ?? 'ha'}-${++run}`;
    const payments = await startPayments(teardown, {
      ...redisEnv(),
      INSTANCE: `payments-${tag}`,
      GATEWAY_URL: gateway.url,
      FALLBACK_STRATEGY: 'queue',
      QUEUE_SETTLE_INTERVAL_MS: '100',
    });
    const orders = await startOrders(teardown, {
      ...redisEnv(),
      INSTANCE: `orders-${tag}`,
      PAYMENTS_URL: payments.url,
      PENDING_RECONCILE_INTERVAL_MS: '100',
    });
    return { payments: payments.url, orders: orders.url, tag };
  }

  it('pays an order once per Idempotency-Key, and says where the breaker lives', async () => {
    const { payments, orders, tag } = await startPair();
    const before = await gateway.reached('approved');
    const first = await placeOrder(orders, `key-${tag}`);
    expect(first.status).toBe(201);
    const order = (await first.json()) as Order;
    expect(order.status).toBe('paid');

    const again = await placeOrder(orders, `key-${tag}`);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual(order);
    expect(await gateway.reached('approved')).toBe(before + 1);
    expect(await (await fetch(`${orders}/orders/${order.id}`)).json()).toEqual(order);

    const circuit = (await (await fetch(`${payments}/payments/circuit`)).json()) as Record<
      string,
      unknown
    >;
    expect(circuit).toMatchObject({
      store: 'redis',
      storeTopology: topology === 'Redis Cluster' ? 'cluster' : 'sentinel',
      storeServer: expect.stringMatching(/:\d+$/),
    });
  });

  it('queues payments while the breaker is isolated and settles each order once after the reset', async () => {
    const { payments, orders, tag } = await startPair();
    expect((await admin(payments, 'isolate')).status).toBe(200);
    const before = await gateway.reached('approved');
    const pending: Order[] = [];
    for (let i = 0; i < 5; i += 1) {
      const response = await placeOrder(orders, `queued-${tag}-${i}`, 100 + i);
      expect(response.status).toBe(202);
      pending.push((await response.json()) as Order);
    }
    expect(pending.every((o) => o.status === 'payment_pending')).toBe(true);

    expect((await admin(payments, 'reset')).status).toBe(200);
    await waitFor(async () => {
      const now = await Promise.all(
        pending.map(async (o) => (await (await fetch(`${orders}/orders/${o.id}`)).json()) as Order),
      );
      return now.every((o) => o.status === 'paid');
    }, 'every queued order to be paid');
    expect(await gateway.reached('approved')).toBe(before + 5);
  });
});
