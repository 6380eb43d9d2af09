import {
  captureLogger,
  serve,
  startRedis,
  Teardown,
  waitFor,
  type TestRedis,
} from '@cb-lab/testing';
import { createServiceApp } from './app';
import { createMetrics } from './metrics';
import { createRedisClient } from './redis';
import { isRedisUnavailable } from './redis-errors';

jest.setTimeout(60_000);

const teardown = new Teardown();
let redis: TestRedis;
let url: string;

/** A service whose one route reads Redis, as payments and orders do on every request. */
beforeAll(async () => {
  redis = teardown.add(await startRedis(), (r) => r.stop());
  const { logger } = captureLogger('svc', 'svc-1');
  const client = teardown.add(
    createRedisClient({ connection: redis.url, logger, commandTimeoutMs: 300 }),
    (c) => {
      c.disconnect();
      return Promise.resolve();
    },
  );
  await client.set('greeting', 'hello');
  const app = createServiceApp({
    logger,
    metrics: createMetrics({ service: 'svc', instance: 'svc-1' }),
    bodyLimitBytes: 1_024,
    routes: (app) =>
      app.get('/greeting', async (_req, res) => {
        res.json({ greeting: await client.get('greeting') });
      }),
  });
  url = teardown.add(await serve(app, { logger }), (s) => s.stop()).url;
});
afterAll(() => teardown.run());

const greeting = () => fetch(`${url}/greeting`);

async function expectStoreUnavailable(): Promise<void> {
  const response = await greeting();
  expect(response.status).toBe(503);
  expect(response.headers.get('retry-after')).toBe('1');
  expect(await response.json()).toMatchObject({ error: 'store_unavailable' });
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
}

describe('a service whose Redis goes away', () => {
  it('answers 503 store_unavailable while Redis is frozen, and serves again when it is back', async () => {
    expect(await (await greeting()).json()).toEqual({ greeting: 'hello' });
    await redis.pause();
    try {
      await expectStoreUnavailable();
    } finally {
      await redis.unpause();
    }
    await waitFor(async () => (await greeting()).status === 200, 'the route to answer again');
  });

  it('answers 503 store_unavailable while Redis is stopped, and reconnects when it restarts', async () => {
    await redis.kill();
    try {
      await expectStoreUnavailable();
      // A second request while still down: refused at once, not queued behind the first.
      await expectStoreUnavailable();
    } finally {
      await redis.revive();
    }
    await waitFor(async () => (await greeting()).status === 200, 'the route to answer again');
  });
});

describe('isRedisUnavailable', () => {
  it('tells Redis being away from a command Redis refused', async () => {
    const client = redis.connect();
    const wrong = await client.incr('greeting').catch((error: unknown) => error);
    expect(isRedisUnavailable(wrong)).toBe(false);
    expect(isRedisUnavailable(new Error('Command timed out'))).toBe(true);
  });
});
