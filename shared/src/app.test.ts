import { captureLogger, sampleValue, serve } from '@cb-lab/testing';
import type { Express } from 'express';
import { z } from 'zod';
import { createServiceApp } from './app';
import { createHttpClient } from './http-client';
import { HttpError } from './http-errors';
import { Lifecycle } from './lifecycle';
import type { Logger } from './logger';
import { createMetrics } from './metrics';
import type { RunningServer } from './server';
import { parseInput } from './validation';

const servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
});

async function start(
  routes: (app: Express, logger: Logger) => void,
  options: { ready?: () => Promise<unknown>; lifecycle?: Lifecycle } = {},
) {
  const log = captureLogger('svc', 'svc-1');
  const metrics = createMetrics({ service: 'svc', instance: 'svc-1' });
  const app = createServiceApp({
    logger: log.logger,
    metrics,
    bodyLimitBytes: 1_024,
    readiness: options.ready ? [{ name: 'redis', check: options.ready }] : [],
    ...(options.lifecycle ? { lifecycle: options.lifecycle } : {}),
    routes: (app) => {
      routes(app, log.logger);
    },
  });
  const server = await serve(app, {
    logger: log.logger,
    ...(options.lifecycle ? { lifecycle: options.lifecycle } : {}),
  });
  servers.push(server);
  return { url: server.url, log, metrics, server };
}

const postJson = (url: string, body: string) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

describe('request ids', () => {
  it('forwards the incoming x-request-id downstream and puts it on every log line', async () => {
    const seenDownstream: (string | undefined)[] = [];
    const downstream = await start((app) =>
      app.get('/work', (req, res) => {
        seenDownstream.push(req.header('x-request-id'));
        res.json({ ok: true });
      }),
    );
    const upstream = await start((app, logger) => {
      const client = createHttpClient({
        name: 'downstream',
        baseURL: downstream.url,
        timeoutMs: 1_000,
        logger,
      });
      app.get('/front', async (_req, res) => {
        logger.info('calling downstream');
        await client.get('/work');
        res.json({ ok: true });
      });
    });

    const response = await fetch(`${upstream.url}/front`, {
      headers: { 'x-request-id': 'trace-123' },
    });

    expect(response.headers.get('x-request-id')).toBe('trace-123');
    expect(seenDownstream).toEqual(['trace-123']);
    const lines = upstream.log
      .lines()
      .filter((line) => line.message !== undefined && line.route !== '/metrics');
    expect(lines.map((line) => line.message)).toEqual(
      expect.arrayContaining(['calling downstream', 'request handled']),
    );
    for (const line of lines)
      expect(line).toMatchObject({ requestId: 'trace-123', service: 'svc', instance: 'svc-1' });
  });

  it('generates an id when the client sends none or an unsafe one', async () => {
    const { url } = await start((app) => app.get('/x', (_req, res) => res.json({})));
    const plain = await fetch(`${url}/x`);
    const forged = await fetch(`${url}/x`, { headers: { 'x-request-id': 'a b\u00e9 "injected"' } });
    for (const response of [plain, forged]) {
      expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(plain.headers.get('x-request-id')).not.toBe(forged.headers.get('x-request-id'));
  });
});

describe('error shape', () => {
  const body = z.object({ amount: z.number({ error: 'expected a number' }) });

  async function app() {
    return start((server) => {
      server.post('/things', (req, res) => {
        res.status(201).json(parseInput(body, req.body));
      });
      server.get('/busy', () => {
        throw new HttpError(503, 'busy', 'Try later', { 'Retry-After': '7' });
      });
      server.get('/boom', () => {
        throw new Error('secret internal detail');
      });
    });
  }

  it('answers malformed JSON with 400 invalid_json', async () => {
    const { url } = await app();
    const response = await postJson(`${url}/things`, '{"amount":');
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: 'invalid_json',
      message: 'The request body is not valid JSON',
    });
  });

  it('answers a body over the limit with 413', async () => {
    const { url } = await app();
    const response = await postJson(
      `${url}/things`,
      JSON.stringify({ amount: 1, pad: 'x'.repeat(2_000) }),
    );
    expect(response.status).toBe(413);
    expect(await response.json()).toEqual({
      error: 'payload_too_large',
      message: 'The request body is larger than 1024 bytes',
    });
  });

  it('names the invalid field in a 400', async () => {
    const { url } = await app();
    const response = await postJson(`${url}/things`, '{"amount":"ten"}');
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: 'invalid_request',
      message: 'Invalid request body: amount: expected a number',
    });
  });

  it('answers unknown routes with a JSON 404', async () => {
    const { url } = await app();
    const response = await fetch(`${url}/nowhere`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: 'not_found',
      message: 'No route for GET /nowhere',
    });
  });

  it('passes HttpError status, code and headers through', async () => {
    const { url } = await app();
    const response = await fetch(`${url}/busy`);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(await response.json()).toEqual({ error: 'busy', message: 'Try later' });
  });

  it('hides unexpected errors behind a generic 500 and logs their stack', async () => {
    const { url, log } = await app();
    const response = await fetch(`${url}/boom`);
    expect(response.status).toBe(500);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      error: 'internal_error',
      message: 'An unexpected error occurred',
    });
    expect(text).not.toContain('secret');
    const logged = log.lines().find((line) => line.message === 'unhandled error');
    expect(logged?.error).toMatchObject({
      message: 'secret internal detail',
      stack: expect.stringContaining('app.test.ts'),
    });
  });
});

describe('metrics', () => {
  it('labels every series with service and instance, and HTTP by route template', async () => {
    const { url } = await start((app) => app.get('/orders/:id', (_req, res) => res.json({})));
    await fetch(`${url}/orders/42`);
    await fetch(`${url}/orders/43`);
    await fetch(`${url}/no/such/path`);

    const text = await (await fetch(`${url}/metrics`)).text();

    const series = { service: 'svc', instance: 'svc-1', method: 'GET' };
    const count = 'http_server_request_duration_seconds_count';
    expect(sampleValue(text, count, { ...series, route: '/orders/:id', status_code: '200' })).toBe(
      2,
    );
    expect(sampleValue(text, count, { ...series, route: 'unmatched', status_code: '404' })).toBe(1);
    expect(text).not.toContain('/orders/42');
    expect(text).toMatch(/^process_cpu_user_seconds_total\{service="svc",instance="svc-1"\} /m);
  });
});

describe('health, readiness and shutdown', () => {
  it('reports ready only while every dependency answers', async () => {
    let redisUp = true;
    const { url } = await start(() => undefined, {
      ready: () =>
        redisUp ? Promise.resolve('PONG') : Promise.reject(new Error('connection refused')),
    });
    expect(await (await fetch(`${url}/readyz`)).json()).toEqual({
      status: 'ready',
      checks: { redis: 'ok' },
    });
    redisUp = false;
    const down = await fetch(`${url}/readyz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ error: 'not_ready', message: 'redis: connection refused' });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
  });

  it('finishes in-flight requests on stop, then refuses new connections', async () => {
    const lifecycle = new Lifecycle();
    let release: () => void = () => undefined;
    const { url, server } = await start(
      (app) =>
        app.get('/slow', async (_req, res) => {
          await new Promise<void>((resolve) => (release = resolve));
          res.json({ finished: true });
        }),
      { lifecycle },
    );
    const inFlight = fetch(`${url}/slow`);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const stopped = server.stop();
    expect(lifecycle.stopping).toBe(true);
    release();

    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ finished: true });
    await stopped;
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
