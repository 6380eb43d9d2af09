import { sampleValue, startRedis, Teardown, type TestRedis, waitFor } from '@cb-lab/testing';
import { startGateway, type TestGateway } from '../../payment-gateway/src/app.fixture';
import { startPayments, TEST_ADMIN_TOKEN, type RunningPayments } from './app.fixture';
import type { Payment } from './payment';

jest.setTimeout(60_000);

const teardown = new Teardown();
let redis: TestRedis;
let gateway: TestGateway;
let secondGateway: TestGateway;

beforeAll(async () => {
  redis = teardown.add(await startRedis(), (r) => r.stop());
  gateway = await startGateway(teardown, 'gw-primary');
  secondGateway = await startGateway(teardown, 'gw-secondary');
});
afterAll(() => teardown.run());
afterEach(() => started.run());

/**
 * What one test starts; stopped after it, so no settler of one test works on the next one's
 * queue.
 */
let started: Teardown;

/** Each test gets its own Redis state: breaker, payments and queue start empty. */
beforeEach(async () => {
  started = new Teardown();
  await redis.connect().flushall();
  await gateway.setFaults(null);
});

const replica = (
  env: Record<string, string> = {},
  instance = 'payments-test',
): Promise<RunningPayments> =>
  startPayments(started, {
    INSTANCE: instance,
    REDIS_URL: redis.url,
    GATEWAY_URL: gateway.url,
    BREAKER_FAILURE_THRESHOLD: '3',
    BREAKER_OPEN_MS: '60000',
    ...env,
  });

const pay = (
  url: string,
  key: string,
  body: Record<string, unknown> = { orderId: key, amount: 1999, currency: 'EUR' },
) =>
  fetch(`${url}/payments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'Idempotency-Key': key },
    body: JSON.stringify(body),
  });

const circuit = async (url: string) =>
  (await (await fetch(`${url}/payments/circuit`)).json()) as Record<string, unknown> & {
    redis: { state: string } | null;
  };

const admin = (url: string, action: 'isolate' | 'reset', token = TEST_ADMIN_TOKEN) =>
  fetch(`${url}/payments/circuit/${action}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{}',
  });

describe('payments with a real Redis and gateway', () => {
  it('charges once per Idempotency-Key, across replicas, and persists the payment', async () => {
    const [a, b] = [await replica(), await replica()];
    const approvedBefore = await gateway.reached('approved');

    const first = await pay(a.url, 'order-1');
    expect(first.status).toBe(201);
    const payment = (await first.json()) as Payment;
    expect(payment).toMatchObject({
      status: 'approved',
      orderId: 'order-1',
      attempts: 1,
      gateway: 'payment-gateway',
    });

    const replay = await pay(b.url, 'order-1');
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.json()).toEqual(payment);
    expect(await gateway.reached('approved')).toBe(approvedBefore + 1);
    expect(await (await fetch(`${b.url}/payments/${payment.id}`)).json()).toEqual(payment);
  });

  it('refuses a key reused for another payment with 422', async () => {
    const { url } = await replica();
    await pay(url, 'order-2', { orderId: 'order-2', amount: 100, currency: 'EUR' });
    const reuse = await pay(url, 'order-2', { orderId: 'order-2', amount: 999, currency: 'EUR' });
    expect(reuse.status).toBe(422);
    expect(await reuse.json()).toMatchObject({ error: 'idempotency_key_reused' });
  });

  it('records a decline as a final business answer that never trips the breaker', async () => {
    const { url } = await replica();
    for (let i = 0; i < 5; i += 1) {
      const response = await pay(url, `declined-${i}`, {
        orderId: `declined-${i}`,
        amount: 100_001,
        currency: 'EUR',
      });
      expect(response.status).toBe(201);
      expect(await response.json()).toMatchObject({
        status: 'declined',
        declineCode: 'insufficient_funds',
      });
    }
    expect(await circuit(url)).toMatchObject({ state: 'closed', failures: 0 });
  });

  it('marks the payment failed when the gateway fails, and a retry with the same key settles it', async () => {
    const { url } = await replica();
    await gateway.setFaults({ errorRate: 1, errorStatus: 503 });
    const failed = await pay(url, 'order-4');
    expect(failed.status).toBe(502);
    expect(await failed.json()).toMatchObject({ error: 'gateway_unavailable' });

    await gateway.setFaults(null);
    const retried = await pay(url, 'order-4');
    expect(retried.status).toBe(201);
    expect(await retried.json()).toMatchObject({ status: 'approved', attempts: 2 });
  });

  it('validates the body and the Idempotency-Key', async () => {
    const { url } = await replica();
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

describe('the shared breaker in front of the gateway', () => {
  it('opens on every replica together and shields the gateway; 503 with Retry-After while open', async () => {
    const replicas = [await replica({}, 'r1'), await replica({}, 'r2'), await replica({}, 'r3')];
    await gateway.setFaults({ errorRate: 1, errorStatus: 503 });
    // Three failures in a row across the cluster, one per replica.
    for (const [i, r] of replicas.entries())
      expect((await pay(r.url, `fail-${i}`)).status).toBe(502);
    await waitFor(
      async () =>
        (await Promise.all(replicas.map((r) => circuit(r.url)))).every((c) => c.state === 'open'),
      'every replica to report open',
    );
    const reachedWhenOpened = await gateway.reached('faulted');

    for (const [i, r] of [...replicas, ...replicas].entries()) {
      const rejected = await pay(r.url, `while-open-${i}`);
      expect(rejected.status).toBe(503);
      expect(Number(rejected.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(await rejected.json()).toMatchObject({ error: 'circuit_open' });
    }
    expect(await gateway.reached('faulted')).toBe(reachedWhenOpened);

    const views = await Promise.all(replicas.map((r) => circuit(r.url)));
    for (const [i, view] of views.entries()) {
      expect(view).toMatchObject({
        breaker: 'payment-gateway',
        state: 'open',
        failures: 3,
        replica: `r${i + 1}`,
        store: 'redis',
        redis: { state: 'open', failures: 3 },
      });
      expect(Date.parse(String(view.halfOpenAt)) - Date.parse(String(view.openedAt))).toBe(60_000);
    }
  });

  it('opens for every replica when only one replica’s calls fail, unless a quorum is asked for', async () => {
    // The default: one replica's broken path opens the shared breaker for the healthy one too.
    const [poisoned, healthy] = [await replica({}, 'r1'), await replica({}, 'r2')];
    await gateway.setFaults({ errorRate: 1, scope: { replicas: ['r1'] } });
    for (let i = 0; i < 3; i += 1) expect((await pay(poisoned.url, `alone-${i}`)).status).toBe(502);
    await waitFor(async () => (await circuit(healthy.url)).state === 'open', 'r2 to see open');
    expect((await pay(healthy.url, 'healthy-refused')).status).toBe(503);
  });

  it('with BREAKER_SCOPE=replica, each replica has a breaker of its own, which a real outage opens one by one', async () => {
    const own = { BREAKER_SCOPE: 'replica' };
    const [poisoned, healthy] = [await replica(own, 'r1'), await replica(own, 'r2')];
    await gateway.setFaults({ errorRate: 1, scope: { replicas: ['r1'] } });
    for (let i = 0; i < 3; i += 1) expect((await pay(poisoned.url, `alone-${i}`)).status).toBe(502);
    await waitFor(async () => (await circuit(poisoned.url)).state === 'open', 'r1 to open');
    expect(await circuit(poisoned.url)).toMatchObject({
      breaker: 'payment-gateway.r1',
      redis: { state: 'open' },
    });
    expect((await pay(poisoned.url, 'poisoned-refused')).status).toBe(503);
    for (let i = 0; i < 3; i += 1)
      expect((await pay(healthy.url, `healthy-${i}`)).status).toBe(201);
    expect(await circuit(healthy.url)).toMatchObject({
      breaker: 'payment-gateway.r2',
      state: 'closed',
      redis: { state: 'closed', failures: 0 },
    });

    // Down for everyone: r2 pays its own threshold before its breaker opens; nothing is shared.
    await gateway.setFaults({ errorRate: 1 });
    for (let i = 0; i < 3; i += 1) expect((await pay(healthy.url, `both-${i}`)).status).toBe(502);
    await waitFor(async () => (await circuit(healthy.url)).state === 'open', 'r2 to open');
  });

  it('with BREAKER_QUORUM=2, stops only the replica whose calls fail; the others keep paying', async () => {
    const quorum = { BREAKER_QUORUM: '2' };
    const [poisoned, healthy] = [await replica(quorum, 'r1'), await replica(quorum, 'r2')];
    await gateway.setFaults({ errorRate: 1, scope: { replicas: ['r1'] } });
    for (let i = 0; i < 3; i += 1) expect((await pay(poisoned.url, `alone-${i}`)).status).toBe(502);
    const faulted = await gateway.reached('faulted');

    // r1's own breaker is open: it refuses without calling the gateway.
    const refused = await pay(poisoned.url, 'poisoned-refused');
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: 'circuit_open' });
    expect(await gateway.reached('faulted')).toBe(faulted);
    expect(await circuit(poisoned.url)).toMatchObject({
      state: 'open',
      redis: { state: 'closed', failures: 3 },
    });

    // r2 is served: the shared state never opened.
    for (let i = 0; i < 3; i += 1) {
      const paid = await pay(healthy.url, `healthy-${i}`);
      expect(paid.status).toBe(201);
    }
    expect(await circuit(healthy.url)).toMatchObject({
      state: 'closed',
      redis: { state: 'closed' },
    });

    // A second replica failing is the quorum: the gateway is down for everyone now.
    await gateway.setFaults({ errorRate: 1 });
    for (let i = 0; i < 3; i += 1) await pay(healthy.url, `both-${i}`);
    await waitFor(
      async () => (await circuit(healthy.url)).redis?.state === 'open',
      'the shared breaker to open',
    );
  });

  it('with BREAKER_SLOW_CALLS_IN_FLIGHT, opens while the calls to a hung gateway are still waiting', async () => {
    const r = await replica({
      GATEWAY_TIMEOUT_MS: '3000',
      BREAKER_SLOW_CALL_MS: '200',
      BREAKER_SLOW_CALLS_IN_FLIGHT: 'true',
    });
    await gateway.setFaults({ timeoutRate: 1 });
    let answered = 0;
    const payments = Array.from({ length: 3 }, (_, i) =>
      pay(r.url, `hung-${i}`).then((response) => {
        answered += 1;
        return response.status;
      }),
    );
    await waitFor(async () => (await circuit(r.url)).state === 'open', 'the breaker to open');
    // Opened by calls still in flight: none of the three has had its answer yet.
    expect(answered).toBe(0);
    const refused = await pay(r.url, 'after-hang');
    expect(refused.status).toBe(503);
    await gateway.setFaults(null);
    // Each still ends on its own timeout; none is abandoned early.
    expect(await Promise.all(payments)).toHaveLength(3);
  });

  it('counts a gateway that stops answering against the breaker, and confirms those payments later instead of failing them', async () => {
    const { url } = await replica({
      GATEWAY_TIMEOUT_MS: '200',
      BREAKER_OPEN_MS: '300',
      QUEUE_SETTLE_INTERVAL_MS: '100',
    });
    await gateway.setFaults({ timeoutRate: 1 });
    const unknown: Payment[] = [];
    for (let i = 0; i < 3; i += 1) {
      const timedOut = await pay(url, `silent-${i}`);
      expect(timedOut.status).toBe(202);
      unknown.push((await timedOut.json()) as Payment);
    }
    expect(unknown.map((p) => [p.status, p.failureReason])).toEqual(
      Array(3).fill(['pending', 'gateway_outcome_unknown']),
    );
    expect(await circuit(url)).toMatchObject({ state: 'open', failures: 3 });
    expect((await pay(url, 'while-open')).status).toBe(503);

    const approvedBefore = await gateway.reached('approved');
    await gateway.setFaults(null);
    await waitFor(async () => {
      const now = await Promise.all(
        unknown.map(async (p) => (await fetch(`${url}/payments/${p.id}`)).json()),
      );
      return now.every((p) => (p as Payment).status === 'approved');
    }, 'the payments that timed out to be confirmed');
    expect(await gateway.reached('approved')).toBe(approvedBefore + 3);
  });

  it('never charges twice when the gateway made a charge after payments stopped waiting', async () => {
    const { url } = await replica({
      GATEWAY_TIMEOUT_MS: '200',
      BREAKER_OPEN_MS: '300',
      QUEUE_SETTLE_INTERVAL_MS: '100',
    });
    // Slower than payments waits: the gateway charges after payments has given up on the answer.
    await gateway.setFaults({ latencyMs: 600 });
    const approvedBefore = await gateway.reached('approved');
    const response = await pay(url, 'late-charge');
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as Payment;
    await waitFor(
      async () => (await gateway.reached('approved')) === approvedBefore + 1,
      'the gateway to finish the late charge',
    );
    await gateway.setFaults(null);
    await waitFor(
      async () =>
        ((await (await fetch(`${url}/payments/${id}`)).json()) as Payment).status === 'approved',
      'the settler to confirm the charge',
    );
    // Confirmed by replaying the same idempotency key: the gateway made one charge, not two.
    expect(await gateway.reached('approved')).toBe(approvedBefore + 1);
    expect(await gateway.reached('replayed')).toBeGreaterThan(0);
  });

  it('lets one probe through per open period and closes everywhere when the gateway heals', async () => {
    const replicas = [
      await replica({ BREAKER_OPEN_MS: '300' }, 'r1'),
      await replica({ BREAKER_OPEN_MS: '300' }, 'r2'),
    ];
    await gateway.setFaults({ errorRate: 1, errorStatus: 503 });
    for (let i = 0; i < 3; i += 1) await pay(replicas[i % 2]!.url, `trip-${i}`);
    await waitFor(async () => (await circuit(replicas[1]!.url)).state === 'open', 'open');
    // Healed but slow: the probe is still running while the other 19 calls arrive.
    await gateway.setFaults({ latencyMs: 200 });
    const approvedBefore = await gateway.reached('approved');
    await new Promise((resolve) => setTimeout(resolve, 350));

    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        pay(replicas[i % 2]!.url, `after-${i}`).then((r) => r.status),
      ),
    );
    expect(answers.filter((status) => status === 201)).toHaveLength(1);
    expect(answers.filter((status) => status === 503)).toHaveLength(19);
    expect(await gateway.reached('approved')).toBe(approvedBefore + 1);
    await waitFor(
      async () =>
        (await Promise.all(replicas.map((r) => circuit(r.url)))).every((c) => c.state === 'closed'),
      'every replica to close',
    );
  });

  it('isolates and resets the cluster through the token-protected admin API', async () => {
    const [a, b] = [await replica({}, 'r1'), await replica({}, 'r2')];
    expect((await admin(a.url, 'isolate', 'not-the-token')).status).toBe(403);
    expect((await fetch(`${a.url}/payments/circuit/isolate`, { method: 'POST' })).status).toBe(401);
    expect(await circuit(b.url)).toMatchObject({ state: 'closed' });

    const isolated = await admin(a.url, 'isolate');
    expect(isolated.status).toBe(200);
    await waitFor(
      async () => (await circuit(b.url)).state === 'isolated',
      'b to see the isolation',
    );
    const before = await gateway.reached('approved');
    expect((await pay(b.url, 'isolated-1')).status).toBe(503);
    expect(await gateway.reached('approved')).toBe(before);

    expect((await admin(b.url, 'reset')).status).toBe(200);
    await waitFor(async () => (await circuit(a.url)).state === 'closed', 'a to see the reset');
    expect((await pay(a.url, 'after-reset')).status).toBe(201);
  });

  it('isolates for a time with a reason, shown by every replica, and closes by itself', async () => {
    const [a, b] = [await replica({}, 'r1'), await replica({}, 'r2')];
    const post = (url: string, action: string, body: unknown) =>
      fetch(`${url}/payments/circuit/${action}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${TEST_ADMIN_TOKEN}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
      });
    for (const [action, body, message] of [
      ['isolate', { forMs: 500 }, 'forMs: expected forMs of at least 1000 (one second)'],
      ['isolate', { forMs: '5m' }, 'forMs: expected forMs as whole milliseconds'],
      ['reset', { forMs: 1000 }, 'unknown field "forMs" (expected only reason)'],
    ] as const) {
      const refused = await post(a.url, action, body);
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({
        error: 'invalid_request',
        message: expect.stringContaining(message),
      });
    }
    expect(await circuit(a.url)).toMatchObject({ state: 'closed', isolation: null });

    const isolated = await post(a.url, 'isolate', { reason: 'gateway deploy', forMs: 1_000 });
    expect(isolated.status).toBe(200);
    const view = (await isolated.json()) as { isolation: unknown };
    expect(view).toMatchObject({
      state: 'isolated',
      isolation: { reason: 'gateway deploy', until: expect.any(String) },
    });
    await waitFor(async () => (await circuit(b.url)).state === 'isolated', 'b isolated');
    expect((await circuit(b.url)).isolation).toEqual(view.isolation);
    expect((await pay(b.url, 'during-isolation')).status).toBe(503);

    // Nobody resets it: the time runs out on Redis's clock and every replica closes.
    await waitFor(
      async () =>
        (await Promise.all([a, b].map((r) => circuit(r.url)))).every((c) => c.state === 'closed'),
      'the isolation to end by itself',
    );
    expect((await pay(b.url, 'after-isolation')).status).toBe(201);
  });
});

describe('breaker settings', () => {
  it('starts with a failure rate of 1 and opens only once every call in the window failed', async () => {
    const { url } = await replica({
      BREAKER_MODE: 'rate',
      BREAKER_FAILURE_RATE: '1',
      BREAKER_MIN_CALLS: '3',
      BREAKER_WINDOW_MS: '2000',
    });
    expect(await circuit(url)).toMatchObject({ state: 'closed', mode: 'rate' });
    await gateway.setFaults({ errorRate: 1, errorStatus: 503 });
    for (let i = 0; i < 3; i += 1) expect((await pay(url, `rate-one-${i}`)).status).toBe(502);
    await waitFor(async () => (await circuit(url)).state === 'open', 'the breaker to open');
  });

  it('refuses a failure rate above 1, naming the variable', async () => {
    await expect(replica({ BREAKER_MODE: 'rate', BREAKER_FAILURE_RATE: '1.5' })).rejects.toThrow(
      'BREAKER_FAILURE_RATE',
    );
  });
});

describe('without the breaker (BREAKER_ENABLED=false)', () => {
  it('sends every payment to the failing gateway, never opens, and says it has no breaker', async () => {
    const replicas = [
      await replica({ BREAKER_ENABLED: 'false' }, 'r1'),
      await replica({ BREAKER_ENABLED: 'false' }, 'r2'),
    ];
    await gateway.setFaults({ errorRate: 1, errorStatus: 503 });
    const before = await gateway.reached('faulted');
    // Four times the threshold of 3: a breaker would have stopped most of these.
    for (let i = 0; i < 12; i += 1)
      expect((await pay(replicas[i % 2]!.url, `unprotected-${i}`)).status).toBe(502);
    expect(await gateway.reached('faulted')).toBe(before + 12);

    expect(await circuit(replicas[0]!.url)).toMatchObject({
      enabled: false,
      state: 'closed',
      redis: null,
    });
    const isolate = await fetch(`${replicas[0]!.url}/payments/circuit/isolate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    });
    expect(isolate.status).toBe(409);
    expect(await isolate.json()).toMatchObject({ error: 'breaker_disabled' });
    const metrics = await (await fetch(`${replicas[0]!.url}/metrics`)).text();
    expect(metrics).not.toContain('circuit_breaker_state');
  });
});

describe('fallback strategies', () => {
  it('queue: accepts payments as pending while open, then settles each exactly once after recovery', async () => {
    const env = {
      FALLBACK_STRATEGY: 'queue',
      BREAKER_OPEN_MS: '300',
      QUEUE_SETTLE_INTERVAL_MS: '100',
    };
    const replicas = [await replica(env, 'r1'), await replica(env, 'r2'), await replica(env, 'r3')];
    await gateway.setFaults({ errorRate: 1, errorStatus: 503 });
    for (let i = 0; i < 3; i += 1) await pay(replicas[i]!.url, `trip-${i}`);
    await waitFor(async () => (await circuit(replicas[0]!.url)).state === 'open', 'open');

    const pending: Payment[] = [];
    for (let i = 0; i < 12; i += 1) {
      const response = await pay(replicas[i % 3]!.url, `queued-${i}`);
      expect(response.status).toBe(202);
      pending.push((await response.json()) as Payment);
    }
    expect(pending.every((p) => p.status === 'pending')).toBe(true);
    // A retry of a queued payment is answered from the queue, not charged.
    expect((await pay(replicas[1]!.url, 'queued-0')).status).toBe(202);

    const approvedBefore = await gateway.reached('approved');
    await gateway.setFaults(null);
    await waitFor(async () => {
      const now = await Promise.all(
        pending.map(async (p) => (await fetch(`${replicas[0]!.url}/payments/${p.id}`)).json()),
      );
      return now.every((p) => (p as Payment).status === 'approved');
    }, 'every queued payment to be settled');

    expect(await gateway.reached('approved')).toBe(approvedBefore + 12);
    expect(await redis.connect().zcard('{payments}:queue')).toBe(0);
    const metrics = await (await fetch(`${replicas[0]!.url}/metrics`)).text();
    expect(sampleValue(metrics, 'payments_fallback_total', { strategy: 'queue' })).toBeGreaterThan(
      0,
    );
  });

  it('queue: a retry puts back in line a pending payment that was not queued (its replica died between the two writes)', async () => {
    const { url } = await replica({
      FALLBACK_STRATEGY: 'queue',
      BREAKER_OPEN_MS: '300',
      QUEUE_SETTLE_INTERVAL_MS: '100',
    });
    await gateway.setFaults({ errorRate: 1, errorStatus: 503 });
    for (let i = 0; i < 3; i += 1) await pay(url, `trip-${i}`);
    await waitFor(async () => (await circuit(url)).state === 'open', 'open');
    const queued = (await (await pay(url, 'orphan')).json()) as Payment;
    expect(queued.status).toBe('pending');
    // Recorded pending, never queued: what a replica that died between the two writes leaves.
    const admin = redis.connect();
    expect(await admin.zrem('{payments}:queue', queued.id)).toBe(1);

    const retry = await pay(url, 'orphan');
    expect(retry.status).toBe(202);
    expect(await admin.zscore('{payments}:queue', queued.id)).not.toBeNull();
    await gateway.setFaults(null);
    await waitFor(
      async () =>
        ((await (await fetch(`${url}/payments/${queued.id}`)).json()) as Payment).status ===
        'approved',
      'the payment to be settled',
    );
  });

  it('queue: settles the payments behind poisoned ones; a refused one fails at once, one that cannot be settled after its bound', async () => {
    const { url, log } = await replica({
      FALLBACK_STRATEGY: 'queue',
      BREAKER_OPEN_MS: '300',
      QUEUE_SETTLE_INTERVAL_MS: '100',
      QUEUE_MAX_ATTEMPTS: '3',
    });
    // The gateway knows the reference 'refused' with another amount: it will refuse the payment.
    const known = await fetch(`${gateway.url}/charges`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Idempotency-Key': 'refused' },
      body: JSON.stringify({ amount: 1, currency: 'EUR', reference: 'refused' }),
    });
    expect(known.status).toBe(201);
    await gateway.setFaults({ errorRate: 1, errorStatus: 503 });
    for (let i = 0; i < 3; i += 1) await pay(url, `trip-${i}`);
    await waitFor(async () => (await circuit(url)).state === 'open', 'open');
    const good: Payment[] = [];
    for (let i = 0; i < 10; i += 1)
      good.push((await (await pay(url, `behind-${i}`)).json()) as Payment);

    // At the head of the line: one the gateway will refuse (it knows the reference with another
    // amount), and one waiting for a gateway this replica has no route to.
    const admin = redis.connect();
    const queuedLongAgo = async (payment: Partial<Payment> & { id: string }, score: number) => {
      const at = new Date(Date.now() - 60_000).toISOString();
      const record = {
        orderId: payment.id,
        amount: 1999,
        currency: 'EUR',
        status: 'pending',
        attempts: 1,
        createdAt: at,
        updatedAt: at,
        ...payment,
      };
      await admin.set(`{payments}:record:${payment.id}`, JSON.stringify(record), 'EX', 600);
      await admin.zadd('{payments}:queue', score, payment.id);
    };
    await queuedLongAgo({ id: 'unroutable', gateway: 'retired-gateway' }, 1);
    await queuedLongAgo({ id: 'refused' }, 2);
    expect(await admin.zrange('{payments}:queue', 0, 1)).toEqual(['unroutable', 'refused']);

    await gateway.setFaults(null);
    const paymentOf = async (id: string) =>
      (await (await fetch(`${url}/payments/${id}`)).json()) as Payment;
    await waitFor(
      async () => (await admin.zcard('{payments}:queue')) === 0,
      'the queue to be worked through',
    );

    for (const payment of good)
      expect(await paymentOf(payment.id)).toMatchObject({ status: 'approved' });
    expect(await paymentOf('refused')).toMatchObject({
      status: 'failed',
      failureReason: 'gateway_error',
    });
    expect(await paymentOf('unroutable')).toMatchObject({
      status: 'failed',
      failureReason: 'settlement_failed',
    });
    expect(await admin.hlen('{payments}:queue:attempts')).toBe(0);

    const lines = log.lines();
    const about = (id: string) => lines.filter((line) => line.paymentId === id);
    expect(about('refused')).toEqual([
      expect.objectContaining({
        level: 'warn',
        message: 'queued payment refused by the gateway',
        status: 422,
        reason: 'gateway_error',
      }),
    ]);
    const unroutable = about('unroutable');
    expect(unroutable.map((line) => [line.level, line.message])).toEqual([
      ['warn', 'queued payment failed unexpectedly; retrying later'],
      ['warn', 'queued payment failed unexpectedly; retrying later'],
      ['error', 'queued payment failed for good: settling it kept failing'],
      ['error', 'queued payment given up after 3 failed attempts'],
    ]);
    for (const line of unroutable)
      expect((line.error as { message: string }).message).toContain(
        '"retired-gateway", which this replica has no route to',
      );
    // The ten behind it were settled before it was given up: it never held them back.
    const settledAt = lines
      .filter((line) => line.message === 'queued payment settled')
      .map((line) => lines.indexOf(line));
    expect(settledAt).toHaveLength(10);
    expect(Math.max(...settledAt)).toBeLessThan(lines.indexOf(unroutable[2]!));
  });

  it('secondary: charges the second gateway while the first one’s breaker is open', async () => {
    const { url } = await replica({
      FALLBACK_STRATEGY: 'secondary',
      SECONDARY_GATEWAY_URL: secondGateway.url,
    });
    await gateway.setFaults({ errorRate: 1, errorStatus: 503 });
    for (let i = 0; i < 3; i += 1) await pay(url, `trip-${i}`);
    const before = await secondGateway.reached('approved');

    const response = await pay(url, 'via-secondary');
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({
      status: 'approved',
      gateway: 'payment-gateway-secondary',
    });
    expect(await secondGateway.reached('approved')).toBe(before + 1);
  });

  it('secondary: answers Retry-After from the breaker that refused, the secondary one', async () => {
    const { url } = await replica({
      FALLBACK_STRATEGY: 'secondary',
      SECONDARY_GATEWAY_URL: secondGateway.url,
    });
    // The primary breaker isolated (it would say 1 s), the secondary one open for 60 s.
    expect((await admin(url, 'isolate')).status).toBe(200);
    await secondGateway.setFaults({ errorRate: 1, errorStatus: 503 });
    try {
      for (let i = 0; i < 3; i += 1) await pay(url, `trip-secondary-${i}`);
      const refused = await pay(url, 'both-refuse');
      expect(refused.status).toBe(503);
      expect(await refused.json()).toMatchObject({ error: 'circuit_open' });
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(30);
    } finally {
      await secondGateway.setFaults(null);
    }
  });

  it('secondary: never sends a payment the primary gateway may already be charging to the second one', async () => {
    const [first, second] = [
      await replica(
        {
          FALLBACK_STRATEGY: 'secondary',
          SECONDARY_GATEWAY_URL: secondGateway.url,
          GATEWAY_TIMEOUT_MS: '5000',
        },
        'r1',
      ),
      await replica(
        { FALLBACK_STRATEGY: 'secondary', SECONDARY_GATEWAY_URL: secondGateway.url },
        'r2',
      ),
    ];
    // The first attempt hangs at the primary gateway: its payment stays `processing`. (The
    // gateway's count runs over the whole file: earlier tests hung charges too.)
    await gateway.setFaults({ timeoutRate: 1 });
    const hungBefore = await gateway.reached('timed_out');
    const firstAttempt = pay(first.url, 'in-doubt');
    await waitFor(
      async () => (await gateway.reached('timed_out')) > hungBefore,
      'the charge to hang',
    );
    expect((await admin(second.url, 'isolate')).status).toBe(200);
    const secondaryBefore = await secondGateway.reached('approved');

    // A retry with the same key while the breaker refuses: it waits, it does not go elsewhere.
    const retry = await pay(second.url, 'in-doubt');
    expect(retry.status).toBe(202);
    expect(await retry.json()).toMatchObject({
      status: 'pending',
      failureReason: 'gateway_outcome_unknown',
      gateway: 'payment-gateway',
    });
    expect(await secondGateway.reached('approved')).toBe(secondaryBefore);

    await gateway.setFaults(null);
    await admin(second.url, 'reset');
    await firstAttempt;
  });

  it('refuses to start with the secondary strategy but no second gateway', async () => {
    await expect(replica({ FALLBACK_STRATEGY: 'secondary' })).rejects.toThrow(
      'SECONDARY_GATEWAY_URL: expected a URL when FALLBACK_STRATEGY is secondary',
    );
  });
});
