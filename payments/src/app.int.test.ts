import { loadConfig, type RunningServer } from '@cb-lab/shared';
import {
  sampleValue,
  serve,
  startRedis,
  Teardown,
  testContext,
  type TestRedis,
} from '@cb-lab/testing';
import { createApp as createGatewayApp } from '../../payment-gateway/src/app';
import { gatewayConfigSchema } from '../../payment-gateway/src/config';
import { createApp } from './app';
import { paymentsConfigSchema } from './config';

jest.setTimeout(60_000);

const teardown = new Teardown();
let redis: TestRedis;
let gateway: RunningServer;

beforeAll(async () => {
  redis = teardown.add(await startRedis(), (r) => r.stop());
  const gatewayConfig = loadConfig(gatewayConfigSchema, {
    INSTANCE: 'gw',
    CARD_LIMIT_MINOR: '100000',
  });
  const gatewayApp = createGatewayApp(testContext('payment-gateway', gatewayConfig));
  gateway = teardown.add(await serve(gatewayApp), (s) => s.stop());
});
afterAll(() => teardown.run());

async function startPayments(env: Record<string, string> = {}): Promise<string> {
  const config = loadConfig(paymentsConfigSchema, {
    INSTANCE: 'payments-test',
    REDIS_URL: redis.url,
    GATEWAY_URL: gateway.url,
    BREAKER_FAILURE_THRESHOLD: '100',
    ...env,
  });
  const app = createApp({ ...testContext('payments', config), redis: redis.connect() });
  const server = teardown.add(await serve(app), (s) => s.stop());
  return server.url;
}

const pay = (url: string, key: string, body: Record<string, unknown>) =>
  fetch(`${url}/payments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'Idempotency-Key': key },
    body: JSON.stringify(body),
  });

const gatewayCharges = async (outcome: string) =>
  sampleValue(await (await fetch(`${gateway.url}/metrics`)).text(), 'gateway_charges_total', {
    outcome,
  }) ?? 0;

describe('payments with a real Redis and gateway', () => {
  it('charges once per Idempotency-Key, across replicas, and persists the payment', async () => {
    const [replicaA, replicaB] = [await startPayments(), await startPayments()];
    const body = { orderId: 'order-1', amount: 1999, currency: 'EUR' };
    const approvedBefore = await gatewayCharges('approved');

    const first = await pay(replicaA, 'order-1', body);
    expect(first.status).toBe(201);
    const payment = (await first.json()) as { id: string; status: string; chargeId: string };
    expect(payment).toMatchObject({ status: 'approved', orderId: 'order-1', attempts: 1 });

    const replay = await pay(replicaB, 'order-1', body);
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.json()).toEqual(payment);
    expect(await gatewayCharges('approved')).toBe(approvedBefore + 1);

    expect(await (await fetch(`${replicaB}/payments/${payment.id}`)).json()).toEqual(payment);
  });

  it('refuses a key reused for another payment with 422 and changes nothing', async () => {
    const url = await startPayments();
    await pay(url, 'order-2', { orderId: 'order-2', amount: 100, currency: 'EUR' });
    const reuse = await pay(url, 'order-2', { orderId: 'order-2', amount: 999, currency: 'EUR' });
    expect(reuse.status).toBe(422);
    expect(await reuse.json()).toMatchObject({ error: 'idempotency_key_reused' });
  });

  it('records a decline as a final business answer', async () => {
    const url = await startPayments();
    const response = await pay(url, 'order-3', {
      orderId: 'order-3',
      amount: 100_001,
      currency: 'EUR',
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({
      status: 'declined',
      declineCode: 'insufficient_funds',
    });
  });

  it('marks the payment failed when the gateway is unreachable, and a retry with the same key settles it', async () => {
    const unreachable = await startPayments({ GATEWAY_URL: 'http://127.0.0.1:9' });
    const body = { orderId: 'order-4', amount: 700, currency: 'EUR' };
    const failed = await pay(unreachable, 'order-4', body);
    expect(failed.status).toBe(502);
    expect(await failed.json()).toMatchObject({ error: 'gateway_unavailable' });

    const healthy = await startPayments();
    const retried = await pay(healthy, 'order-4', body);
    expect(retried.status).toBe(201);
    const payment = (await retried.json()) as { status: string; attempts: number };
    expect(payment).toMatchObject({ status: 'approved', attempts: 2 });
  });

  it('answers 503 with Retry-After once the breaker is open', async () => {
    const url = await startPayments({
      GATEWAY_URL: 'http://127.0.0.1:9',
      BREAKER_FAILURE_THRESHOLD: '2',
      BREAKER_OPEN_MS: '30000',
    });
    for (const n of [1, 2])
      await pay(url, `open-${n}`, { orderId: `open-${n}`, amount: 1, currency: 'EUR' });
    const rejected = await pay(url, 'open-3', { orderId: 'open-3', amount: 1, currency: 'EUR' });
    expect(rejected.status).toBe(503);
    expect(rejected.headers.get('retry-after')).toBe('30');
    expect(await rejected.json()).toMatchObject({ error: 'circuit_open' });
    expect(await (await fetch(`${url}/payments/circuit`)).json()).toEqual({
      breaker: 'payment-gateway',
      state: 'open',
      failures: 2,
      replica: 'payments-test',
      store: 'local',
    });
  });

  it('validates the body and the Idempotency-Key', async () => {
    const url = await startPayments();
    const noKey = await fetch(`${url}/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: 'o', amount: 1, currency: 'EUR' }),
    });
    expect(noKey.status).toBe(400);
    expect(await noKey.json()).toEqual({
      error: 'invalid_request',
      message: 'Invalid Idempotency-Key header: the Idempotency-Key header is required',
    });
    const bad = await pay(url, 'k', { orderId: '', amount: -1, currency: 'euro' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(
      /orderId: .*amount: .*currency: /,
    );
    expect((await fetch(`${url}/payments/does-not-exist`)).status).toBe(404);
  });
});
