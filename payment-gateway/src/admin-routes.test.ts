import { loadConfig, type RunningServer } from '@cb-lab/shared';
import { sampleValue, serve, testContext, type CapturedLogger } from '@cb-lab/testing';
import { createApp } from './app';
import { gatewayConfigSchema } from './config';

const TOKEN = 'test-admin-token-0123456789';
const HEALTHY = {
  errorRate: 0,
  errorStatus: 503,
  latencyMs: 0,
  jitterMs: 0,
  timeoutRate: 0,
  down: false,
  scope: null,
};

let server: RunningServer;
let log: CapturedLogger;

beforeAll(async () => {
  const config = loadConfig(gatewayConfigSchema, { INSTANCE: 'gw-admin', ADMIN_TOKEN: TOKEN });
  const context = testContext('payment-gateway', config);
  log = context.log;
  server = await serve(createApp(context));
});
afterAll(() => server.stop());
afterEach(() => admin('DELETE'));

type Method = 'GET' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * An admin call; `body` is sent as is when it is a string, so malformed JSON can be sent
 * too, and `authorization` null sends no header at all.
 */
const admin = (
  method: Method,
  body?: unknown,
  authorization: string | null = `Bearer ${TOKEN}`,
): Promise<Response> =>
  fetch(`${server.url}/admin/faults`, {
    method,
    headers: {
      ...(authorization === null ? {} : { authorization }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });

const faultGauge = async (fault: string, scope = 'all') =>
  sampleValue(await (await fetch(`${server.url}/metrics`)).text(), 'gateway_fault_active', {
    service: 'payment-gateway',
    instance: 'gw-admin',
    fault,
    scope,
  });

describe('admin token', () => {
  it.each<Method>(['GET', 'PUT', 'PATCH', 'DELETE'])(
    '%s /admin/faults answers 401 without a token and 403 with a wrong one',
    async (method) => {
      const body = method === 'PUT' || method === 'PATCH' ? { down: true } : undefined;
      const missing = await admin(method, body, null);
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toBe('Bearer');
      expect(await missing.json()).toMatchObject({ error: 'unauthorized' });

      const wrong = await admin(method, body, 'Bearer not-the-admin-token-at-all');
      expect(wrong.status).toBe(403);
      expect(await wrong.json()).toMatchObject({ error: 'forbidden' });

      // Refused calls changed nothing.
      expect(await (await admin('GET')).json()).toEqual(HEALTHY);
    },
  );

  it('guards every path under /admin, so unknown ones do not reveal what exists', async () => {
    const response = await fetch(`${server.url}/admin/nothing-here`);
    expect(response.status).toBe(401);
  });
});

describe('/admin/faults', () => {
  it('GET answers the active faults with every default filled in', async () => {
    const response = await admin('GET');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(HEALTHY);
  });

  it('PUT replaces the faults: fields left out go back to their defaults', async () => {
    const first = await admin('PUT', { latencyMs: 250, jitterMs: 50, errorStatus: 429 });
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({
      ...HEALTHY,
      latencyMs: 250,
      jitterMs: 50,
      errorStatus: 429,
    });

    const second = await admin('PUT', { errorRate: 0.5 });
    expect(await second.json()).toEqual({ ...HEALTHY, errorRate: 0.5 });
    expect(await (await admin('GET')).json()).toEqual({ ...HEALTHY, errorRate: 0.5 });

    // An empty object is a valid, if roundabout, way to heal.
    expect(await (await admin('PUT', {})).json()).toEqual(HEALTHY);
  });

  it('PATCH merges the body into the active faults', async () => {
    await admin('PUT', { errorRate: 0.25, errorStatus: 502 });
    const response = await admin('PATCH', { timeoutRate: 0.1, down: true });
    expect(response.status).toBe(200);
    const expected = {
      ...HEALTHY,
      errorRate: 0.25,
      errorStatus: 502,
      timeoutRate: 0.1,
      down: true,
    };
    expect(await response.json()).toEqual(expected);
    expect(await (await admin('PATCH', {})).json()).toEqual(expected);
  });

  it('DELETE heals the gateway', async () => {
    await admin('PUT', { errorRate: 1, latencyMs: 10, timeoutRate: 0.5, down: true });
    const response = await admin('DELETE');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(HEALTHY);
    expect(await (await admin('GET')).json()).toEqual(HEALTHY);
  });

  describe.each<Method>(['PUT', 'PATCH'])('%s rejects bad input with a 400 naming it', (method) => {
    it.each<[string, unknown, string]>([
      ['a rate above 1', { errorRate: 2 }, 'errorRate: expected a number from 0 to 1'],
      ['a negative rate', { timeoutRate: -0.1 }, 'timeoutRate: expected a number from 0 to 1'],
      [
        'a status that is not 429 or 5xx',
        { errorStatus: 404 },
        'errorStatus: expected 429 or an HTTP status from 500 to 599',
      ],
      [
        'a status above 599',
        { errorStatus: 600 },
        'errorStatus: expected 429 or an HTTP status from 500 to 599',
      ],
      [
        'a fractional status',
        { errorStatus: 503.5 },
        'errorStatus: expected 429 or an HTTP status from 500 to 599',
      ],
      [
        'a negative latency',
        { latencyMs: -1 },
        'latencyMs: expected whole milliseconds from 0 to 60000',
      ],
      [
        'a latency above a minute',
        { latencyMs: 60_001 },
        'latencyMs: expected whole milliseconds from 0 to 60000',
      ],
      [
        'a fractional jitter',
        { jitterMs: 1.5 },
        'jitterMs: expected whole milliseconds from 0 to 60000',
      ],
      ['a rate as a string', { errorRate: '0.5' }, 'errorRate: expected a number from 0 to 1'],
      [
        'a latency as a string',
        { latencyMs: '100' },
        'latencyMs: expected whole milliseconds from 0 to 60000',
      ],
      ['down as a string', { down: 'yes' }, 'down: expected true or false'],
      ['down as null', { down: null }, 'down: expected true or false'],
      [
        'an unknown field',
        { errorRate: 0.5, errorrate: 0.5 },
        'unknown field "errorrate" (expected only errorRate, errorStatus, latencyMs, jitterMs, timeoutRate, down, scope)',
      ],
      [
        'a scope with no replica',
        { down: true, scope: { replicas: [] } },
        'scope.replicas: expected at least one replica id (null reaches every caller)',
      ],
      [
        'a scope naming a replica twice',
        { down: true, scope: { replicas: ['p-1', 'p-1'] } },
        'scope.replicas: expected each replica id once',
      ],
      [
        'a scope with a malformed replica id',
        { down: true, scope: { replicas: ['p 1'] } },
        'scope.replicas.0: expected a replica id',
      ],
      [
        'a scope of a share of 0',
        { down: true, scope: { share: 0 } },
        'scope.share: expected a share above 0',
      ],
      [
        'a scope of a share above 1',
        { down: true, scope: { share: 1.5 } },
        'scope.share: expected a share of at most 1',
      ],
      [
        'a scope with both replicas and a share',
        { down: true, scope: { replicas: ['p-1'], share: 0.5 } },
        'scope: expected null (every caller), {"replicas": [ids]} or {"share": a number above 0 up to 1}',
      ],
      [
        'a scope as a string',
        { down: true, scope: 'p-1' },
        'scope: expected null (every caller), {"replicas": [ids]} or {"share"',
      ],
      ['an array', [{ errorRate: 0.5 }], 'expected a JSON object with any of errorRate'],
      ['no body at all', undefined, 'expected a JSON object with any of errorRate'],
    ])('%s', async (_what, body, message) => {
      await admin('PUT', { latencyMs: 5 });
      const response = await admin(method, body);
      expect(response.status).toBe(400);
      const answer = (await response.json()) as { error: string; message: string };
      expect(answer.error).toBe('invalid_request');
      expect(answer.message).toContain(message);
      // A refused body changes nothing.
      expect(await (await admin('GET')).json()).toEqual({ ...HEALTHY, latencyMs: 5 });
    });

    it('names every bad field at once', async () => {
      const response = await admin(method, { errorRate: 2, latencyMs: -1, down: 1 });
      expect(response.status).toBe(400);
      const { message } = (await response.json()) as { message: string };
      expect(message).toMatch(/errorRate: .*latencyMs: .*down: /);
    });

    it('malformed JSON', async () => {
      const response = await admin(method, '{"errorRate": 0.5');
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: 'invalid_json',
        message: 'The request body is not valid JSON',
      });
    });

    it('a JSON scalar instead of an object', async () => {
      // express.json only accepts objects and arrays, so a bare scalar is malformed to it.
      const response = await admin(method, '0.5');
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'invalid_json' });
    });
  });

  it('logs every change at info with the old and the new faults', async () => {
    await admin('PUT', { errorRate: 0.3 });
    await admin('PATCH', { down: true });
    const changes = log.lines().filter((line) => line.message === 'gateway faults changed');
    expect(changes.slice(-2)).toEqual([
      expect.objectContaining({
        level: 'info',
        previous: HEALTHY,
        faults: { ...HEALTHY, errorRate: 0.3 },
        requestId: expect.any(String),
      }),
      expect.objectContaining({
        level: 'info',
        previous: { ...HEALTHY, errorRate: 0.3 },
        faults: { ...HEALTHY, errorRate: 0.3, down: true },
      }),
    ]);
  });

  it('exports which faults are active as gateway_fault_active', async () => {
    const gauges = async () => ({
      error_rate: await faultGauge('error_rate'),
      latency: await faultGauge('latency'),
      timeout: await faultGauge('timeout'),
      down: await faultGauge('down'),
    });
    expect(await gauges()).toEqual({ error_rate: 0, latency: 0, timeout: 0, down: 0 });

    await admin('PUT', { errorRate: 0.5, latencyMs: 100, timeoutRate: 0.2, down: true });
    expect(await gauges()).toEqual({ error_rate: 1, latency: 1, timeout: 1, down: 1 });

    await admin('PATCH', { down: false, latencyMs: 0, jitterMs: 20 });
    expect(await gauges()).toEqual({ error_rate: 1, latency: 1, timeout: 1, down: 0 });

    // A status alone injects nothing.
    await admin('PUT', { errorStatus: 500 });
    expect(await gauges()).toEqual({ error_rate: 0, latency: 0, timeout: 0, down: 0 });

    await admin('PUT', { timeoutRate: 1 });
    await admin('DELETE');
    expect(await gauges()).toEqual({ error_rate: 0, latency: 0, timeout: 0, down: 0 });
  });
});

describe('faults limited to some callers', () => {
  const chargeAs = (caller: string | undefined, reference: string) =>
    fetch(`${server.url}/charges`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(caller === undefined ? {} : { 'Caller-Replica': caller }),
      },
      body: JSON.stringify({ amount: 1999, currency: 'EUR', reference }),
    });
  const callers = async () =>
    (
      (await (
        await fetch(`${server.url}/admin/callers`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        })
      ).json()) as { callers: { replica: string; reached: boolean }[] }
    ).callers;

  it('fail only the named replicas; every other caller, named or not, is charged', async () => {
    const response = await admin('PUT', { errorRate: 1, scope: { replicas: ['poisoned'] } });
    expect(await response.json()).toEqual({
      ...HEALTHY,
      errorRate: 1,
      scope: { replicas: ['poisoned'] },
    });
    expect((await chargeAs('poisoned', 'scoped-1')).status).toBe(503);
    expect((await chargeAs('healthy', 'scoped-2')).status).toBe(201);
    expect((await chargeAs(undefined, 'scoped-3')).status).toBe(201);
  });

  it('answer 400 to a caller name that is not a replica id, whatever the faults', async () => {
    const response = await chargeAs('not an id', 'scoped-bad');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      error: 'invalid_request',
      message: expect.stringContaining('Caller-Replica header: expected a replica id'),
    });
  });

  it('reach a share of the callers heard lately, listed with /admin/callers', async () => {
    await admin('PUT', { down: true, scope: { share: 0.5 } });
    // Each caller is heard with its first request, whatever happens to that request.
    for (const caller of ['share-a', 'share-b', 'share-c', 'share-d']) {
      await chargeAs(caller, `share-${caller}`).catch(() => undefined);
    }
    const heard = (await callers()).filter((caller) => caller.replica.startsWith('share-'));
    expect(heard).toHaveLength(4);
    const reached = heard.filter((caller) => caller.reached).map((caller) => caller.replica);
    // Half of the callers heard (other tests' callers count too), so some of these and not all.
    expect(reached.length).toBeGreaterThan(0);
    expect(reached.length).toBeLessThan(4);
    for (const caller of heard) {
      const answer = await chargeAs(caller.replica, `share-again-${caller.replica}`).then(
        (r) => r.status,
        () => 'dropped',
      );
      expect([caller.replica, answer]).toEqual([caller.replica, caller.reached ? 'dropped' : 201]);
    }
  });

  it('show their scope in gateway_fault_active and which callers they reach', async () => {
    await admin('PUT', { down: true, scope: { replicas: ['poisoned'] } });
    await chargeAs('poisoned', 'gauge-1').catch(() => undefined);
    await chargeAs('healthy', 'gauge-2');
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(sampleValue(text, 'gateway_fault_active', { fault: 'down', scope: 'replicas' })).toBe(1);
    // One series per fault: the one for every caller is gone while the fault is scoped.
    expect(text).not.toMatch(/gateway_fault_active\{[^}]*scope="all"/);
    expect(sampleValue(text, 'gateway_fault_caller_reached', { caller: 'poisoned' })).toBe(1);
    expect(sampleValue(text, 'gateway_fault_caller_reached', { caller: 'healthy' })).toBe(0);

    await admin('DELETE');
    const healed = await (await fetch(`${server.url}/metrics`)).text();
    expect(sampleValue(healed, 'gateway_fault_active', { fault: 'down', scope: 'all' })).toBe(0);
    // No fault reaches anyone once healed.
    expect(sampleValue(healed, 'gateway_fault_caller_reached', { caller: 'poisoned' })).toBe(0);
  });
});

describe('GET /admin/charges', () => {
  const charge = (key: string, reference: string) =>
    fetch(`${server.url}/charges`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Idempotency-Key': key },
      body: JSON.stringify({ amount: 1999, currency: 'EUR', reference }),
    });
  const charges = (query = '', authorization = `Bearer ${TOKEN}`) =>
    fetch(`${server.url}/admin/charges${query}`, { headers: { authorization } });

  it('lists what was really charged: one charge per idempotency key, however often it is sent', async () => {
    for (let i = 0; i < 3; i += 1)
      expect((await charge('key-listed', 'pay-listed')).status).toBe(201);
    const response = await charges('?reference=pay-listed');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { count: number; charges: { reference: string }[] };
    expect(body.count).toBe(1);
    expect(body.charges).toEqual([
      expect.objectContaining({ reference: 'pay-listed', status: 'approved', amount: 1999 }),
    ]);
    const all = (await (await charges()).json()) as { count: number };
    expect(all.count).toBeGreaterThanOrEqual(1);
  });

  it('needs the admin token and a valid query', async () => {
    expect((await charges('', 'Bearer wrong-token-0123456789')).status).toBe(403);
    const bad = await charges('?since=yesterday');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_request' });
  });
});
