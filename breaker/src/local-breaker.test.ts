import fc from 'fast-check';
import { strategyFor, type OpenSettings, type TripSettings } from './breaker-options';
import { LocalBreaker, type LocalStart } from './local-breaker';
import {
  BreakerModel,
  breakerCommands,
  callOnce,
  Declined,
  Wait,
  type Subject,
  type World,
} from './model-commands.fixture';

const OPEN: OpenSettings = { openMs: 100, maxOpenMs: 400, backoffFactor: 2 };

/** A local breaker on a clock the test moves. */
function localSubject(
  trip: TripSettings,
  from?: LocalStart,
  start = 1_000_000,
): Subject & { breaker: LocalBreaker } {
  let now = start;
  const breaker = new LocalBreaker(
    {
      trip: strategyFor(trip),
      open: OPEN,
      isFailure: (error) => !(error instanceof Declined),
      slowCallMs: Infinity,
      now: () => now,
    },
    from,
  );
  return {
    breaker,
    execute: (fn, signal) => breaker.execute(fn, signal, () => undefined),
    get state() {
      return breaker.state;
    },
    get failures() {
      return breaker.failures;
    },
    isolate: () => {
      breaker.isolate();
    },
    reset: () => {
      breaker.reset();
    },
    settle: () => Promise.resolve(),
    now: () => now,
    openUntil: () => breaker.halfOpenAt,
    wait: async (ms) => {
      now += Math.max(0, ms);
      await Promise.resolve();
    },
  };
}

async function runModel(trip: TripSettings, cmds: Iterable<fc.AsyncCommand<World, World>>) {
  const subject = localSubject(trip);
  const world: World = { subject, model: new BreakerModel(trip, OPEN) };
  await fc.asyncModelRun(() => ({ model: world, real: world }), cmds);
  subject.breaker.dispose();
}

const commands = breakerCommands(
  fc.integer({ min: 1, max: 450 }).map((ms) => new Wait(ms)),
  60,
);

describe('the local breaker against the reference model', () => {
  it('consecutive mode: every sequence of calls, held calls, waits, isolate and reset', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), commands, (threshold, cmds) =>
        runModel({ mode: 'consecutive', threshold }, cmds),
      ),
      { numRuns: 1_000 },
    );
  });

  it('rate mode: every sequence of calls, held calls, waits, isolate and reset', async () => {
    const rate = fc.record({
      thresholdPpm: fc.constantFrom(1, 330_000, 500_000, 550_000, 1_000_000),
      minCalls: fc.integer({ min: 1, max: 6 }),
      buckets: fc.integer({ min: 1, max: 5 }),
    });
    await fc.assert(
      fc.asyncProperty(rate, commands, (settings, cmds) =>
        runModel({ mode: 'rate', bucketMs: 50, ...settings }, cmds),
      ),
      { numRuns: 1_000 },
    );
  });
});

describe('the local breaker', () => {
  it('opens on exactly the threshold share, computed on integers', async () => {
    for (const [failures, ppm] of [
      [55, 550_000],
      [7, 70_000],
    ] as const) {
      const subject = localSubject({
        mode: 'rate',
        thresholdPpm: ppm,
        minCalls: 100,
        bucketMs: 50,
        buckets: 2,
      });
      for (let i = 0; i < 100 - failures; i += 1) await callOnce(subject, 'success');
      for (let i = 0; i < failures; i += 1) await callOnce(subject, 'failure');
      await subject.wait(50);
      expect(subject.state).toBe('open');
      subject.breaker.dispose();
    }
  });

  it('rejects while open with BrokenCircuitError, and only an isolation with IsolatedCircuitError', async () => {
    const subject = localSubject({ mode: 'consecutive', threshold: 1 });
    await callOnce(subject, 'failure');
    expect(await callOnce(subject, 'success')).toBe('rejected');
    await subject.isolate();
    expect(await callOnce(subject, 'success')).toBe('isolated');
  });

  it('carries the last shared state it starts from: open until the shared period ends', async () => {
    const subject = localSubject(
      { mode: 'consecutive', threshold: 3 },
      { state: 'open', halfOpenAt: 1_000_010, openCount: 2, failures: 0 },
    );
    expect(await callOnce(subject, 'success')).toBe('rejected');
    await subject.wait(10);
    expect(await callOnce(subject, 'failure')).toBe('probe');
    // The third opening since the breaker closed: the period grows on from the shared one.
    expect(subject.openUntil() - subject.now()).toBe(400);
  });

  it('ends an isolation it started from once its end has come, as Redis would', async () => {
    const subject = localSubject(
      { mode: 'consecutive', threshold: 3 },
      { state: 'isolated', halfOpenAt: 0, openCount: 0, failures: 0, isolatedUntil: 1_000_500 },
    );
    const reasons: string[] = [];
    subject.breaker.onTransition(({ reason }) => reasons.push(reason));
    await subject.wait(499);
    expect(subject.state).toBe('isolated');
    expect(subject.breaker.isolatedUntil).toBe(1_000_500);
    await subject.wait(1);
    expect(subject.state).toBe('closed');
    expect(reasons).toEqual(['isolation expired']);
    expect(subject.breaker.isolatedUntil).toBe(0);
  });

  it('treats a call that outlived slowCallMs as a failure, and returns its value', async () => {
    const breaker = new LocalBreaker({
      trip: strategyFor({ mode: 'consecutive', threshold: 1 }),
      open: OPEN,
      isFailure: () => true,
      slowCallMs: 5,
      now: Date.now,
    });
    const value = await breaker.execute(
      () =>
        new Promise((resolve) =>
          setTimeout(() => {
            resolve('late');
          }, 20),
        ),
      new AbortController().signal,
      () => undefined,
    );
    expect(value).toBe('late');
    expect(breaker.state).toBe('open');
  });
});
