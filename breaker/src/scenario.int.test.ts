import {
  BrokenCircuitError,
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  handleAll,
} from 'cockatiel';
import { Registry } from 'prom-client';
import {
  LatencyProxy,
  sampleValue,
  startRedis,
  Teardown,
  waitFor,
  type TestRedis,
} from '@cb-lab/testing';
import { instrumentBreaker } from './breaker-metrics';
import type { BreakerStateName } from './breaker-state';
import { RedisBreakerStore } from './redis-breaker-store';
import { tripStrategy } from './breaker-options';
import { LocalBreaker } from './local-breaker';
import { monotonicNow } from './redis-clock';
import { SharedCircuitBreaker } from './shared-circuit-breaker';

jest.setTimeout(60_000);

const teardown = new Teardown();
let redis: TestRedis;
beforeAll(async () => {
  redis = teardown.add(await startRedis(), (r) => r.stop());
});
afterAll(() => teardown.run());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const OPEN_MS = 200;
const THRESHOLD = 3;

type Step = { call: 'ok' | 'fail'; state: BreakerStateName; rejected?: true } | { wait: number };

/** One story, told to both breakers: what a caller does, and what it should see. */
const SCENARIO: Step[] = [
  { call: 'fail', state: 'closed' },
  { call: 'fail', state: 'closed' },
  { call: 'ok', state: 'closed' }, // a success resets the consecutive count
  { call: 'fail', state: 'closed' },
  { call: 'fail', state: 'closed' },
  { call: 'fail', state: 'open' }, // the third consecutive failure opens it
  { call: 'ok', state: 'open', rejected: true },
  { wait: OPEN_MS + 50 },
  { call: 'fail', state: 'open' }, // the probe fails: open again
  { call: 'ok', state: 'open', rejected: true },
  { wait: OPEN_MS + 50 },
  { call: 'ok', state: 'closed' }, // the probe succeeds
  { call: 'fail', state: 'closed' },
  { call: 'ok', state: 'closed' },
];

interface Observed {
  state: BreakerStateName;
  rejected: boolean;
}

interface Subject {
  run(call: 'ok' | 'fail'): Promise<Observed>;
}

async function play(subject: Subject): Promise<Observed[]> {
  const observed: Observed[] = [];
  for (const step of SCENARIO) {
    if ('wait' in step) await sleep(step.wait);
    else observed.push(await subject.run(step.call));
  }
  return observed;
}

const expected: Observed[] = SCENARIO.flatMap((step) =>
  'call' in step ? [{ state: step.state, rejected: step.rejected === true }] : [],
);

const attempt = async (execute: () => Promise<unknown>) => {
  try {
    await execute();
    return false;
  } catch (error) {
    return error instanceof BrokenCircuitError;
  }
};
const callFor = (call: 'ok' | 'fail') => () =>
  call === 'ok' ? Promise.resolve('ok') : Promise.reject(new Error('dependency down'));

describe('the same scenario on cockatiel, the shared breaker and its local stand-in', () => {
  it('cockatiel’s in-process breaker goes through the expected states', async () => {
    const STATES: Record<CircuitState, BreakerStateName> = {
      [CircuitState.Closed]: 'closed',
      [CircuitState.Open]: 'open',
      [CircuitState.HalfOpen]: 'half_open',
      [CircuitState.Isolated]: 'isolated',
    };
    const policy = circuitBreaker(handleAll, {
      halfOpenAfter: OPEN_MS,
      breaker: new ConsecutiveBreaker(THRESHOLD),
    });
    const observed = await play({
      run: async (call) => {
        const rejected = await attempt(() => policy.execute(callFor(call)));
        return { state: STATES[policy.state], rejected };
      },
    });
    expect(observed).toEqual(expected);
  });

  it('the shared breaker, alone, goes through the same states', async () => {
    const store = teardown.add(new RedisBreakerStore(redis.url), (s) => s.close());
    const breaker = new SharedCircuitBreaker(store, {
      name: 'scenario',
      trip: { mode: 'consecutive', threshold: THRESHOLD },
      openMs: OPEN_MS,
    });
    teardown.add(breaker, async (b) => {
      b.dispose();
      await Promise.resolve();
    });
    await breaker.start();
    const observed = await play({
      run: async (call) => {
        const rejected = await attempt(() => breaker.execute(callFor(call)));
        await breaker.flush();
        return { state: breaker.state, rejected };
      },
    });
    expect(observed).toEqual(expected);
  });

  it('the local breaker that stands in while Redis is away goes through the same states', async () => {
    const breaker = new LocalBreaker({
      trip: tripStrategy({ mode: 'consecutive', threshold: THRESHOLD }),
      open: { openMs: OPEN_MS, maxOpenMs: OPEN_MS, backoffFactor: 1 },
      isFailure: () => true,
      slowCallMs: Infinity,
      now: monotonicNow,
    });
    const signal = new AbortController().signal;
    const observed = await play({
      run: async (call) => {
        const rejected = await attempt(() =>
          breaker.execute(callFor(call), signal, () => undefined),
        );
        return { state: breaker.state, rejected };
      },
    });
    expect(observed).toEqual(expected);
  });
});

describe('breaker metrics', () => {
  it('exports the one-hot state, transitions, calls by outcome and store health', async () => {
    const proxy = teardown.add(
      await LatencyProxy.start({ host: '127.0.0.1', port: redis.port }),
      (p) => p.stop(),
    );
    const store = teardown.add(new RedisBreakerStore(`redis://127.0.0.1:${proxy.port}`), (s) =>
      s.close(),
    );
    const breaker = new SharedCircuitBreaker(store, {
      name: 'metrics',
      trip: { mode: 'consecutive', threshold: 2 },
      openMs: 60_000,
      storeRetryMs: 50,
    });
    teardown.add(breaker, async (b) => {
      b.dispose();
      await Promise.resolve();
    });
    await breaker.start();
    const registry = new Registry();
    instrumentBreaker(breaker, registry);
    const value = async (name: string, labels: Record<string, string>) =>
      sampleValue(await registry.metrics(), name, { breaker: 'metrics', ...labels });

    expect(await value('circuit_breaker_state', { state: 'closed' })).toBe(1);
    expect(await value('circuit_breaker_store_up', {})).toBe(1);
    await breaker.execute(callFor('ok'));
    for (let i = 0; i < 2; i += 1) await attempt(() => breaker.execute(callFor('fail')));
    await breaker.flush();
    await attempt(() => breaker.execute(callFor('ok')));

    expect(await value('circuit_breaker_state', { state: 'open' })).toBe(1);
    expect(await value('circuit_breaker_state', { state: 'closed' })).toBe(0);
    expect(
      await value('circuit_breaker_transitions_total', {
        from: 'closed',
        to: 'open',
        scope: 'shared',
      }),
    ).toBe(1);
    expect(await value('circuit_breaker_calls_total', { outcome: 'success' })).toBe(1);
    expect(await value('circuit_breaker_calls_total', { outcome: 'failure' })).toBe(2);
    expect(await value('circuit_breaker_calls_total', { outcome: 'rejected' })).toBe(1);
    expect(await value('circuit_breaker_calls_total', { outcome: 'probe' })).toBe(0);
    expect(await value('circuit_breaker_call_duration_seconds_count', { outcome: 'failure' })).toBe(
      2,
    );

    await proxy.stop();
    await breaker.reset().catch(() => undefined); // fails: Redis is unreachable, and the breaker notices
    expect(await value('circuit_breaker_store_up', {})).toBe(0);
  });

  it('tells the cluster’s transitions from what a replica went through alone', async () => {
    const proxy = teardown.add(
      await LatencyProxy.start({ host: '127.0.0.1', port: redis.port }),
      (p) => p.stop(),
    );
    const start = async (url: string, replica: string) => {
      const store = teardown.add(new RedisBreakerStore(url), (s) => s.close());
      const breaker = new SharedCircuitBreaker(store, {
        name: 'transition-scopes',
        replica,
        trip: { mode: 'consecutive', threshold: 1 },
        openMs: 200,
        storeRetryMs: 60_000,
      });
      teardown.add(breaker, async (b) => {
        b.dispose();
        await Promise.resolve();
      });
      return breaker.start();
    };
    const watched = await start(`redis://127.0.0.1:${proxy.port}`, 'watched');
    const other = await start(redis.url, 'other');
    const registry = new Registry();
    instrumentBreaker(watched, registry);
    const transitions = async (from: string, to: string, scope: string) =>
      sampleValue(await registry.metrics(), 'circuit_breaker_transitions_total', {
        breaker: 'transition-scopes',
        from,
        to,
        scope,
      });

    // The cluster opens: the watched replica hears of it as it happens.
    await attempt(() => other.execute(callFor('fail')));
    await other.flush();
    await waitFor(() => watched.state === 'open', 'the watched replica to see open');
    // Then it loses Redis, and its local breaker probes and closes on its own.
    await proxy.stop();
    await attempt(() => watched.reset()); // fails: the replica notices Redis is gone
    await sleep(250);
    await watched.execute(callFor('ok'));

    expect(watched.snapshot()).toMatchObject({ store: 'local', state: 'closed' });
    expect(await transitions('closed', 'open', 'shared')).toBe(1);
    expect(await transitions('open', 'half_open', 'local')).toBe(1);
    expect(await transitions('half_open', 'closed', 'local')).toBe(1);
    expect(await transitions('open', 'half_open', 'shared')).toBe(0);
    expect(await transitions('closed', 'open', 'local')).toBe(0);
  });
});
