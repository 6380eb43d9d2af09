import { performance } from 'node:perf_hooks';
import { loadConfig, type RunningServer } from '@cb-lab/shared';
import { sampleValue, serve, testContext } from '@cb-lab/testing';
import { createApp } from './app';
import { gatewayConfigSchema } from './config';

const TOKEN = 'test-admin-token-0123456789';
const OUTCOMES = ['approved', 'declined', 'replayed', 'faulted', 'timed_out', 'dropped'] as const;
type Outcome = (typeof OUTCOMES)[number];

const startGateway = (instance: string): Promise<RunningServer> =>
  serve(
    createApp(
      testContext(
        'payment-gateway',
        loadConfig(gatewayConfigSchema, { INSTANCE: instance, ADMIN_TOKEN: TOKEN }),
      ),
    ),
  );

/** Sets the faults of the gateway at `url` (PUT: what is left out is healed). */
async function setFaults(url: string, faults: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${url}/admin/faults`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
  expect(response.status).toBe(200);
}

const charge = (url: string, init: { key?: string; signal?: AbortSignal } = {}) =>
  fetch(`${url}/charges`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(init.key === undefined ? {} : { 'Idempotency-Key': init.key }),
    },
    body: JSON.stringify({ amount: 1999, currency: 'EUR', reference: 'fault-test' }),
    ...(init.signal ? { signal: init.signal } : {}),
  });

/** `gateway_charges_total` by outcome, as the gateway at `url` exports it now. */
async function chargeCounts(url: string): Promise<Record<Outcome, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Object.fromEntries(
    OUTCOMES.map((outcome) => [outcome, sampleValue(text, 'gateway_charges_total', { outcome })]),
  ) as Record<Outcome, number>;
}

/** What each outcome counter gained between `before` and now. */
async function countedSince(
  url: string,
  before: Record<Outcome, number>,
): Promise<Partial<Record<Outcome, number>>> {
  const after = await chargeCounts(url);
  const gains: Partial<Record<Outcome, number>> = {};
  for (const outcome of OUTCOMES) {
    const gained = after[outcome] - before[outcome];
    if (gained !== 0) gains[outcome] = gained;
  }
  return gains;
}

describe('injected faults', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startGateway('gw-faults');
  });
  afterAll(() => server.stop());
  afterEach(() => setFaults(server.url, {}));

  it.each([
    [{ errorRate: 1 }, 503],
    [{ errorRate: 1, errorStatus: 502 }, 502],
    [{ errorRate: 1, errorStatus: 429 }, 429],
  ])(
    'with %j answers %i before any charge is made, leaving the key unused',
    async (faults, status) => {
      await setFaults(server.url, faults);
      const before = await chargeCounts(server.url);
      const key = `fault-key-${status}`;

      const faulted = await charge(server.url, { key });
      expect(faulted.status).toBe(status);
      expect(await faulted.json()).toEqual({
        error: 'injected_fault',
        message: expect.stringContaining(String(status)),
      });
      expect(await countedSince(server.url, before)).toEqual({ faulted: 1 });

      // The key was not consumed: once healed, the same key makes a new charge.
      await setFaults(server.url, {});
      const healed = await charge(server.url, { key });
      expect(healed.status).toBe(201);
      expect(healed.headers.get('idempotent-replayed')).toBe('false');
      expect(await countedSince(server.url, before)).toEqual({ faulted: 1, approved: 1 });
    },
  );

  it('labels faulted answers with their route in the HTTP metrics', async () => {
    await setFaults(server.url, { errorRate: 1, errorStatus: 507 });
    expect((await charge(server.url)).status).toBe(507);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(
      sampleValue(text, 'http_server_request_duration_seconds_count', {
        route: '/charges',
        status_code: '507',
      }),
    ).toBe(1);
  });

  it('destroys the connection of every charge when down, and nothing else', async () => {
    await setFaults(server.url, { down: true });
    const before = await chargeCounts(server.url);

    await expect(charge(server.url)).rejects.toThrow('fetch failed');
    await expect(charge(server.url, { key: 'down-key' })).rejects.toThrow('fetch failed');
    await expect(fetch(`${server.url}/charges/ch_any`)).rejects.toThrow('fetch failed');
    expect(await countedSince(server.url, before)).toEqual({ dropped: 2 });

    // Probes, scrapes and the admin API keep answering, so the gateway can be healed.
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(200);
    await setFaults(server.url, {});
    expect((await charge(server.url, { key: 'down-key' })).status).toBe(201);
  });

  it('holds a charge without answering, counted as timed_out', async () => {
    await setFaults(server.url, { timeoutRate: 1 });
    const before = await chargeCounts(server.url);

    await expect(
      charge(server.url, { key: 'held-key', signal: AbortSignal.timeout(200) }),
    ).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(await countedSince(server.url, before)).toEqual({ timed_out: 1 });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    // Nothing was charged, so the key is still free.
    await setFaults(server.url, {});
    const healed = await charge(server.url, { key: 'held-key' });
    expect(healed.status).toBe(201);
    expect(healed.headers.get('idempotent-replayed')).toBe('false');
  });

  it('answers a charge no sooner than the injected latency', async () => {
    const latencyMs = 150;
    await setFaults(server.url, { latencyMs });
    const started = performance.now();
    const response = await charge(server.url);
    const elapsedMs = performance.now() - started;
    expect(response.status).toBe(201);
    // Node's timers run on a millisecond clock read once per loop turn: allow 1 ms of rounding.
    expect(elapsedMs).toBeGreaterThanOrEqual(latencyMs - 1);
  });

  it('delays injected errors by the latency too', async () => {
    await setFaults(server.url, { latencyMs: 100, jitterMs: 50, errorRate: 1 });
    const started = performance.now();
    const response = await charge(server.url);
    const elapsedMs = performance.now() - started;
    expect(response.status).toBe(503);
    expect(elapsedMs).toBeGreaterThanOrEqual(100 - 1);
  });

  it('fails lookups too, without counting them as charges', async () => {
    const created = (await (await charge(server.url)).json()) as { id: string };
    await setFaults(server.url, { errorRate: 1, errorStatus: 500 });
    const before = await chargeCounts(server.url);
    const lookup = await fetch(`${server.url}/charges/${created.id}`);
    expect(lookup.status).toBe(500);
    expect(await lookup.json()).toMatchObject({ error: 'injected_fault' });
    expect(await countedSince(server.url, before)).toEqual({});
  });
});

describe('shutdown with a held charge', () => {
  it('still completes: the held connection is closed once the drain timeout is over', async () => {
    const server = await startGateway('gw-held');
    await setFaults(server.url, { timeoutRate: 1 });
    // This caller never gives up: only the server's shutdown can end its request.
    const held = charge(server.url).then(
      () => 'answered',
      () => 'cut off',
    );
    // Wait until the gateway has the request in hand.
    for (let i = 0; i < 100 && (await chargeCounts(server.url)).timed_out === 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect((await chargeCounts(server.url)).timed_out).toBe(1);

    await server.stop();
    expect(await held).toBe('cut off');
  }, 10_000);
});
