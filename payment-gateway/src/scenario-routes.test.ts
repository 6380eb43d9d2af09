import { setTimeout as sleep } from 'node:timers/promises';
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

const startGateway = async (instance: string) => {
  const config = loadConfig(gatewayConfigSchema, { INSTANCE: instance, ADMIN_TOKEN: TOKEN });
  const context = testContext('payment-gateway', config);
  return { server: await serve(createApp(context)), log: context.log };
};

beforeAll(async () => {
  ({ server, log } = await startGateway('gw-scenario'));
});
afterAll(() => server.stop());
afterEach(async () => {
  await admin('DELETE', '/admin/scenario');
  await admin('DELETE', '/admin/faults');
});

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * An admin call; `body` is sent as is when it is a string, so malformed JSON can be sent
 * too, and `authorization` null sends no header at all.
 */
const admin = (
  method: Method,
  path: string,
  body?: unknown,
  authorization: string | null = `Bearer ${TOKEN}`,
  base = server.url,
): Promise<Response> =>
  fetch(`${base}${path}`, {
    method,
    headers: {
      ...(authorization === null ? {} : { authorization }),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });

interface Status {
  running: boolean;
  name?: string;
  step?: { index: number; name: string; faults: typeof HEALTHY };
  last?: { name: string; outcome: string; step: { name: string } } | null;
}

const status = async (): Promise<Status> =>
  (await (await admin('GET', '/admin/scenario')).json()) as Status;
const activeFaults = async () => (await admin('GET', '/admin/faults')).json();
const stepGauge = async (scenario: string, step: string) =>
  sampleValue(await (await fetch(`${server.url}/metrics`)).text(), 'gateway_scenario_step', {
    service: 'payment-gateway',
    instance: 'gw-scenario',
    scenario,
    step,
  });

/**
 * Polls `read` until `done` holds for what it answers, and answers that; fails after
 * `timeoutMs` (a bound for a broken gateway, not a timing assertion).
 */
async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) {
      throw new Error(`gave up waiting after ${timeoutMs} ms; last saw ${JSON.stringify(value)}`);
    }
    await sleep(5);
  }
}

/** A custom scenario that runs long enough that no test sees it end. */
const LONG = {
  name: 'long',
  steps: [
    { name: 'errors', durationMs: 600_000, faults: { errorRate: 1 } },
    { durationMs: 600_000, faults: {} },
  ],
};

describe('admin token', () => {
  it.each<[Method, string]>([
    ['GET', '/admin/scenario'],
    ['POST', '/admin/scenario'],
    ['DELETE', '/admin/scenario'],
    ['GET', '/admin/scenarios'],
  ])('%s %s answers 401 without a token and 403 with a wrong one', async (method, path) => {
    const body = method === 'POST' ? { preset: 'outage' } : undefined;
    const missing = await admin(method, path, body, null);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect(await missing.json()).toMatchObject({ error: 'unauthorized' });

    const wrong = await admin(method, path, body, 'Bearer not-the-admin-token-at-all');
    expect(wrong.status).toBe(403);
    expect(await wrong.json()).toMatchObject({ error: 'forbidden' });

    // Refused calls started nothing.
    expect(await status()).toMatchObject({ running: false });
    expect(await activeFaults()).toEqual(HEALTHY);
  });
});

describe('GET /admin/scenarios', () => {
  it('lists the presets with their steps at scale 1', async () => {
    const response = await admin('GET', '/admin/scenarios');
    expect(response.status).toBe(200);
    const { presets } = (await response.json()) as {
      presets: { name: string; durationMs: number; steps: { name: string }[] }[];
    };
    expect(presets.map(({ name, durationMs }) => [name, durationMs])).toEqual([
      ['outage', 90_000],
      ['brownout', 90_000],
      ['flapping', 90_000],
      ['timeouts', 75_000],
    ]);
    expect(presets[0]).toEqual({
      name: 'outage',
      description: expect.stringContaining('down'),
      durationMs: 90_000,
      steps: [
        { name: 'healthy', durationMs: 15_000, faults: HEALTHY },
        { name: 'down', durationMs: 45_000, faults: { ...HEALTHY, down: true } },
        { name: 'healthy', durationMs: 30_000, faults: HEALTHY },
      ],
    });
    expect(presets[2]?.steps.map((step) => step.name)).toEqual([
      'healthy',
      ...Array.from({ length: 6 }, () => ['errors', 'healthy']).flat(),
      'healthy',
    ]);
  });
});

describe('GET /admin/scenario', () => {
  it('answers running false and no last scenario on a fresh gateway', async () => {
    const fresh = await startGateway('gw-fresh');
    try {
      const response = await admin(
        'GET',
        '/admin/scenario',
        undefined,
        undefined,
        fresh.server.url,
      );
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ running: false, last: null });
    } finally {
      await fresh.server.stop();
    }
  });
});

describe('POST /admin/scenario', () => {
  it('starts a list of steps and answers 201 with the status', async () => {
    const response = await admin('POST', '/admin/scenario', {
      ...LONG,
      repeat: 2,
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('location')).toBe('/admin/scenario');
    const body = (await response.json()) as Record<string, unknown>;
    const errors = { name: 'errors', durationMs: 600_000, faults: { ...HEALTHY, errorRate: 1 } };
    const healthy = { name: 'healthy', durationMs: 600_000, faults: HEALTHY };
    expect(body).toEqual({
      running: true,
      name: 'long',
      startedAt: expect.any(String),
      endsAt: expect.any(String),
      step: {
        index: 0,
        name: 'errors',
        startedAt: expect.any(String),
        endsAt: expect.any(String),
        faults: errors.faults,
      },
      steps: [errors, healthy, errors, healthy],
    });
    const time = (value: unknown) => Date.parse(value as string);
    const step = body.step as Record<string, unknown>;
    expect(time(body.endsAt) - time(body.startedAt)).toBe(2_400_000);
    expect(time(step.startedAt)).toBe(time(body.startedAt));
    expect(time(step.endsAt) - time(step.startedAt)).toBe(600_000);
    expect(new Date(time(body.startedAt)).toISOString()).toBe(body.startedAt);

    expect(await activeFaults()).toEqual(errors.faults);
    expect(await (await admin('GET', '/admin/scenario')).json()).toEqual(body);
  });

  it('replaces a running scenario, and logs the one it stopped', async () => {
    await admin('POST', '/admin/scenario', LONG);
    const response = await admin('POST', '/admin/scenario', {
      steps: [{ durationMs: 600_000, faults: { latencyMs: 50 } }],
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({
      running: true,
      name: 'custom',
      step: { index: 0, name: 'latency', faults: { ...HEALTHY, latencyMs: 50 } },
    });
    expect(await activeFaults()).toEqual({ ...HEALTHY, latencyMs: 50 });
    expect(
      log.lines().filter((line) => line.message === 'gateway scenario stopped'),
    ).toContainEqual(
      expect.objectContaining({ scenario: 'long', reason: 'replaced', replacedBy: 'custom' }),
    );
  });

  describe('rejects bad input with a 400 naming it', () => {
    const step = { durationMs: 1_000, faults: {} };
    const presets = 'outage, brownout, flapping, timeouts';
    const duration = 'steps.0.durationMs: expected whole milliseconds from 100 to 3600000';
    it.each<[string, unknown, string]>([
      [
        'an unknown preset',
        { preset: 'meltdown' },
        `preset: unknown preset "meltdown" (expected one of ${presets})`,
      ],
      ['a preset that is not a string', { preset: 1 }, `preset: expected a preset name, one of`],
      [
        'both a preset and steps',
        { preset: 'outage', steps: [step] },
        'expected either "preset" or "steps", not both',
      ],
      ['neither a preset nor steps', {}, `expected "preset" (one of ${presets}) or "steps"`],
      ['an empty list of steps', { steps: [] }, 'steps: expected at least one step'],
      ['steps that are not a list', { steps: step }, 'steps: expected a list of steps'],
      ['a step that is not an object', { steps: [1000] }, 'steps.0: expected a step object'],
      ['a duration of 0', { steps: [{ ...step, durationMs: 0 }] }, duration],
      ['a duration under 100 ms', { steps: [{ ...step, durationMs: 99 }] }, duration],
      ['a fractional duration', { steps: [{ ...step, durationMs: 150.5 }] }, duration],
      ['a duration over an hour', { steps: [{ ...step, durationMs: 3_600_001 }] }, duration],
      ['a duration as a string', { steps: [{ ...step, durationMs: '1000' }] }, duration],
      ['a step without a duration', { steps: [{ faults: {} }] }, duration],
      [
        'a step without faults',
        { steps: [{ durationMs: 1_000 }] },
        'steps.0.faults: expected a JSON object with any of errorRate',
      ],
      [
        'bad faults inside a step',
        { steps: [step, { ...step, faults: { errorRate: 2 } }] },
        'steps.1.faults.errorRate: expected a number from 0 to 1',
      ],
      [
        'an unknown fault inside a step',
        { steps: [{ ...step, faults: { errorrate: 1 } }] },
        'steps.0.faults: unknown field "errorrate" (expected only errorRate',
      ],
      [
        'an unknown field in a step',
        { steps: [{ ...step, duration: 5 }] },
        'steps.0: unknown field "duration" (expected only name, durationMs, faults)',
      ],
      [
        'an unknown field',
        { preset: 'outage', speed: 2 },
        'unknown field "speed" (expected only preset, scale, name, steps, repeat)',
      ],
      [
        'a step name with spaces',
        { steps: [{ ...step, name: 'going down' }] },
        'steps.0.name: expected 1 to 40 letters, digits, "-" or "_"',
      ],
      [
        'a scenario name over 40 characters',
        { name: 'x'.repeat(41), steps: [step] },
        'name: expected 1 to 40 letters, digits, "-" or "_"',
      ],
      [
        'an empty scenario name',
        { name: '', steps: [step] },
        'name: expected 1 to 40 letters, digits, "-" or "_"',
      ],
      [
        'a scale of 0',
        { preset: 'outage', scale: 0 },
        'scale: expected a number from 0.001 to 100',
      ],
      [
        'a scale below 0.001',
        { preset: 'outage', scale: 0.0009 },
        'scale: expected a number from 0.001 to 100',
      ],
      [
        'a scale above 100',
        { preset: 'outage', scale: 101 },
        'scale: expected a number from 0.001 to 100',
      ],
      [
        'a scale as a string',
        { preset: 'outage', scale: '0.5' },
        'scale: expected a number from 0.001 to 100',
      ],
      ['a scale with steps', { steps: [step], scale: 0.5 }, 'scale: only goes with "preset"'],
      [
        'a repeat of 0',
        { steps: [step], repeat: 0 },
        'repeat: expected a whole number from 1 to 100',
      ],
      [
        'a repeat above 100',
        { steps: [step], repeat: 101 },
        'repeat: expected a whole number from 1 to 100',
      ],
      [
        'a fractional repeat',
        { steps: [step], repeat: 1.5 },
        'repeat: expected a whole number from 1 to 100',
      ],
      ['a repeat with a preset', { preset: 'outage', repeat: 2 }, 'repeat: only goes with "steps"'],
      ['a name with a preset', { preset: 'outage', name: 'mine' }, 'name: only goes with "steps"'],
      [
        'more than 100 steps',
        { steps: Array.from({ length: 101 }, () => step) },
        'steps: expected at most 100 steps',
      ],
      [
        'more than 1000 steps once repeated',
        { steps: Array.from({ length: 20 }, () => step), repeat: 51 },
        'repeat: expected at most 1000 steps in all once repeated (got 20 steps × 51 = 1020)',
      ],
      ['an array', [step], 'expected a JSON object with either "preset" or "steps"'],
      ['no body at all', undefined, 'expected a JSON object with either "preset" or "steps"'],
    ])('%s', async (_what, body, message) => {
      await admin('POST', '/admin/scenario', LONG);
      const response = await admin('POST', '/admin/scenario', body);
      expect(response.status).toBe(400);
      const answer = (await response.json()) as { error: string; message: string };
      expect(answer.error).toBe('invalid_request');
      expect(answer.message).toContain(message);
      // A refused body changes nothing: the running scenario goes on.
      expect(await status()).toMatchObject({ running: true, name: 'long', step: { index: 0 } });
      expect(await activeFaults()).toEqual({ ...HEALTHY, errorRate: 1 });
    });

    it('names every bad field at once', async () => {
      const response = await admin('POST', '/admin/scenario', {
        steps: [{ durationMs: 0, faults: { errorRate: 2 } }],
        repeat: 0,
      });
      expect(response.status).toBe(400);
      const { message } = (await response.json()) as { message: string };
      expect(message).toMatch(/steps\.0\.durationMs: .*steps\.0\.faults\.errorRate: .*repeat: /);
    });

    it('malformed JSON', async () => {
      const response = await admin('POST', '/admin/scenario', '{"preset": "outage"');
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: 'invalid_json',
        message: 'The request body is not valid JSON',
      });
      expect(await status()).toMatchObject({ running: false });
    });
  });
});

describe('a real scenario', () => {
  it('runs a scaled preset through its steps and ends healed', async () => {
    // outage at 0.02: healthy 300 ms, down 900 ms, healthy 600 ms.
    const started = await admin('POST', '/admin/scenario', { preset: 'outage', scale: 0.02 });
    expect(started.status).toBe(201);
    expect(await started.json()).toMatchObject({
      running: true,
      name: 'outage',
      step: { index: 0, name: 'healthy' },
      steps: [
        { name: 'healthy', durationMs: 300 },
        { name: 'down', durationMs: 900 },
        { name: 'healthy', durationMs: 600 },
      ],
    });

    const seen: string[] = [];
    const observe = async () => {
      const current = await status();
      if (current.running && current.step) {
        const label = `${current.step.index}:${current.step.name}`;
        if (seen.at(-1) !== label) seen.push(label);
      }
      return current;
    };

    const down = await waitFor(observe, (current) => current.step?.name === 'down');
    expect(down.step).toMatchObject({ index: 1, faults: { ...HEALTHY, down: true } });
    await waitFor(activeFaults, (faults) => (faults as typeof HEALTHY).down);
    await waitFor(
      () => stepGauge('outage', 'down'),
      (value) => value === 1,
    );

    const ended = await waitFor(observe, (current) => !current.running);
    expect(ended).toMatchObject({ running: false, last: { name: 'outage', outcome: 'finished' } });
    expect(await activeFaults()).toEqual(HEALTHY);
    expect(await stepGauge('outage', 'down')).toBeUndefined();
    expect(await stepGauge('outage', 'healthy')).toBeUndefined();

    // Polling may miss a step, never see them out of order.
    const indices = seen.map((label) => Number(label.split(':')[0]));
    expect(indices).toEqual([...indices].sort((a, b) => a - b));
    expect(seen).toContain('1:down');

    const steps = log.lines().filter((line) => line.message === 'gateway scenario step');
    expect(steps.slice(-3)).toEqual([
      expect.objectContaining({ scenario: 'outage', stepIndex: 0, step: 'healthy' }),
      expect.objectContaining({ stepIndex: 1, step: 'down', faults: { ...HEALTHY, down: true } }),
      expect.objectContaining({ stepIndex: 2, step: 'healthy', faults: HEALTHY }),
    ]);
    // Logged from a timer, yet tied to the request that started the scenario.
    expect(steps.at(-1)?.requestId).toBe(started.headers.get('x-request-id'));
    // The faults went through the injector, so they were logged as any change is.
    const changes = log.lines().filter((line) => line.message === 'gateway faults changed');
    expect(changes.slice(-2)).toEqual([
      expect.objectContaining({ faults: { ...HEALTHY, down: true } }),
      expect.objectContaining({ faults: HEALTHY }),
    ]);
    expect(log.lines()).toContainEqual(
      expect.objectContaining({ message: 'gateway scenario finished', scenario: 'outage' }),
    );
  });

  it('shows the running step as gateway_scenario_step, 0 for the step before', async () => {
    await admin('POST', '/admin/scenario', {
      name: 'gauge',
      steps: [
        { name: 'warm', durationMs: 100, faults: {} },
        { name: 'broken', durationMs: 600_000, faults: { errorRate: 1 } },
      ],
    });
    await waitFor(
      () => stepGauge('gauge', 'broken'),
      (value) => value === 1,
    );
    expect(await stepGauge('gauge', 'warm')).toBe(0);
    expect(await status()).toMatchObject({ running: true, step: { index: 1, name: 'broken' } });
  });
});

describe('DELETE /admin/scenario', () => {
  it('stops the running scenario and heals', async () => {
    await admin('POST', '/admin/scenario', LONG);
    const response = await admin('DELETE', '/admin/scenario');
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      running: false,
      last: expect.objectContaining({
        name: 'long',
        outcome: 'stopped',
        endedAt: expect.any(String),
        step: expect.objectContaining({ index: 0, name: 'errors' }),
      }),
    });
    expect(await activeFaults()).toEqual(HEALTHY);
    expect(await stepGauge('long', 'errors')).toBeUndefined();
  });

  it('leaves faults set by hand alone when no scenario runs', async () => {
    await admin('PUT', '/admin/faults', { latencyMs: 7 });
    const response = await admin('DELETE', '/admin/scenario');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ running: false });
    expect(await activeFaults()).toEqual({ ...HEALTHY, latencyMs: 7 });
  });
});

describe('a change through /admin/faults', () => {
  const ERRORS = { ...HEALTHY, errorRate: 1 };
  const DOWN = { ...HEALTHY, down: true };

  // The change is expected on the first step (errors, 300 ms), but a slow machine may only
  // get it there once the scenario is down: what it merges with is the step it stopped on.
  it.each<[Method, unknown, (stepFaults: typeof HEALTHY) => typeof HEALTHY]>([
    ['PUT', { latencyMs: 5 }, () => ({ ...HEALTHY, latencyMs: 5 })],
    ['PATCH', { latencyMs: 5 }, (stepFaults) => ({ ...stepFaults, latencyMs: 5 })],
    ['DELETE', undefined, () => HEALTHY],
  ])(
    '%s stops the running scenario first, so no later step overrides it',
    async (method, body, expected) => {
      await admin('POST', '/admin/scenario', {
        name: 'handover',
        steps: [
          { name: 'errors', durationMs: 300, faults: ERRORS },
          { name: 'down', durationMs: 600_000, faults: DOWN },
        ],
      });
      const response = await admin(method, '/admin/faults', body);
      expect(response.status).toBe(200);
      const changed = (await response.json()) as typeof HEALTHY;

      const { last } = await status();
      expect(last).toMatchObject({ name: 'handover', outcome: 'taken_over' });
      expect(changed).toEqual(expected(last?.step.name === 'errors' ? ERRORS : DOWN));
      expect(log.lines()).toContainEqual(
        expect.objectContaining({
          message: 'gateway scenario stopped',
          scenario: 'handover',
          reason: 'taken_over',
          by: `${method} /admin/faults`,
        }),
      );

      // Past the moment the scenario would have gone down: the change by hand holds.
      await sleep(400);
      expect(await activeFaults()).toEqual(changed);
    },
  );

  it('does not stop the scenario when the change is refused', async () => {
    await admin('POST', '/admin/scenario', LONG);
    const response = await admin('PUT', '/admin/faults', { errorRate: 2 });
    expect(response.status).toBe(400);
    expect(await status()).toMatchObject({ running: true, name: 'long' });
  });
});
