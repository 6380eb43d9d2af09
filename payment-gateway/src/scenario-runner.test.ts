import { captureLogger, sampleValue, type CapturedLogger } from '@cb-lab/testing';
import { Registry } from 'prom-client';
import { FaultInjector, HEALTHY, type Faults } from './faults';
import { createGatewayMetrics } from './gateway-metrics';
import { ScenarioRunner, systemClock, type ScenarioClock } from './scenario-runner';
import { presetScenario, type Scenario, type ScenarioStep } from './scenarios';

const faults = (patch: Partial<Faults>): Faults => ({ ...HEALTHY, ...patch });
const step = (name: string, durationMs: number, patch: Partial<Faults> = {}): ScenarioStep => ({
  name,
  durationMs,
  faults: faults(patch),
});

const ERRORS = faults({ errorRate: 0.5 });
const DOWN = faults({ down: true });
const SLOW = faults({ latencyMs: 300 });
/** errors 1 s, down 2 s, slow 0.5 s. */
const THREE_STEPS: Scenario = {
  name: 'three',
  repeat: 1,
  steps: [
    step('errors', 1_000, { errorRate: 0.5 }),
    step('down', 2_000, { down: true }),
    step('slow', 500, { latencyMs: 300 }),
  ],
};
const START = new Date('2026-11-25T13:00:00.000Z');
const at = (ms: number): string => new Date(START.getTime() + ms).toISOString();

interface Setup {
  runner: ScenarioRunner;
  injector: FaultInjector;
  log: CapturedLogger;
  /** Every fault set the injector changed to, in order. */
  changes: Faults[];
  /** `gateway_scenario_step` for `step` of `scenario` (undefined when not exported). */
  stepGauge: (scenario: string, step: string) => Promise<number | undefined>;
  /** How many `gateway_scenario_step` series are exported. */
  stepSeries: () => Promise<number>;
}

function setup(clock?: ScenarioClock): Setup {
  const injector = new FaultInjector();
  const changes: Faults[] = [];
  injector.onChange((next) => changes.push(next));
  const registry = new Registry();
  const metrics = createGatewayMetrics(registry);
  const log = captureLogger('payment-gateway', 'gw-test');
  const runner = new ScenarioRunner({
    injector,
    logger: log.logger,
    metrics,
    ...(clock ? { clock } : {}),
  });
  return {
    runner,
    injector,
    log,
    changes,
    stepGauge: async (scenario, step) =>
      sampleValue(await registry.metrics(), 'gateway_scenario_step', { scenario, step }),
    stepSeries: async () =>
      (await registry.getSingleMetric('gateway_scenario_step')?.get())?.values.length ?? 0,
  };
}

const messages = (log: CapturedLogger, message: string) =>
  log.lines().filter((line) => line.message === message);

describe('ScenarioRunner on fake timers', () => {
  beforeEach(() => {
    // Streams (the captured logger's) run on nextTick and setImmediate: leave those real.
    jest.useFakeTimers({ now: START, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('applies each step at its moment and heals after the last one', () => {
    const { runner, injector, changes } = setup();
    runner.start(THREE_STEPS);
    expect(injector.current()).toEqual(ERRORS);

    jest.advanceTimersByTime(999);
    expect(injector.current()).toEqual(ERRORS);
    jest.advanceTimersByTime(1);
    expect(injector.current()).toEqual(DOWN);

    jest.advanceTimersByTime(1_999);
    expect(injector.current()).toEqual(DOWN);
    jest.advanceTimersByTime(1);
    expect(injector.current()).toEqual(SLOW);

    jest.advanceTimersByTime(499);
    expect(injector.current()).toEqual(SLOW);
    expect(runner.running).toBe(true);
    jest.advanceTimersByTime(1);
    expect(injector.current()).toEqual(HEALTHY);
    expect(runner.running).toBe(false);

    expect(changes).toEqual([ERRORS, DOWN, SLOW, HEALTHY]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('answers the running step and the plan, then how the scenario ended', () => {
    const { runner } = setup();
    expect(runner.status()).toEqual({ running: false, last: null });

    const steps = THREE_STEPS.steps;
    expect(runner.start(THREE_STEPS)).toEqual({
      running: true,
      name: 'three',
      startedAt: at(0),
      endsAt: at(3_500),
      step: { index: 0, name: 'errors', startedAt: at(0), endsAt: at(1_000), faults: ERRORS },
      steps,
    });

    jest.advanceTimersByTime(1_500);
    expect(runner.status()).toEqual({
      running: true,
      name: 'three',
      startedAt: at(0),
      endsAt: at(3_500),
      step: { index: 1, name: 'down', startedAt: at(1_000), endsAt: at(3_000), faults: DOWN },
      steps,
    });

    jest.advanceTimersByTime(2_000);
    expect(runner.status()).toEqual({
      running: false,
      last: {
        name: 'three',
        startedAt: at(0),
        endsAt: at(3_500),
        endedAt: at(3_500),
        outcome: 'finished',
        step: { index: 2, name: 'slow', startedAt: at(3_000), endsAt: at(3_500), faults: SLOW },
        steps,
      },
    });
  });

  it('logs the start, every step and the end', () => {
    const { runner, log } = setup();
    runner.start(THREE_STEPS);
    jest.advanceTimersByTime(3_500);

    expect(messages(log, 'gateway scenario started')).toEqual([
      expect.objectContaining({
        level: 'info',
        scenario: 'three',
        steps: 3,
        repeat: 1,
        startedAt: at(0),
        endsAt: at(3_500),
      }),
    ]);
    expect(messages(log, 'gateway scenario step')).toEqual([
      expect.objectContaining({
        level: 'info',
        scenario: 'three',
        stepIndex: 0,
        step: 'errors',
        durationMs: 1_000,
        faults: ERRORS,
      }),
      expect.objectContaining({ stepIndex: 1, step: 'down', faults: DOWN }),
      expect.objectContaining({ stepIndex: 2, step: 'slow', faults: SLOW }),
    ]);
    expect(messages(log, 'gateway scenario finished')).toEqual([
      expect.objectContaining({ level: 'info', scenario: 'three', stepIndex: 2, step: 'slow' }),
    ]);
  });

  it('shows the running step as gateway_scenario_step, and nothing once idle', async () => {
    const { runner, stepGauge, stepSeries } = setup();
    expect(await stepSeries()).toBe(0);

    runner.start(THREE_STEPS);
    expect(await stepGauge('three', 'errors')).toBe(1);
    expect(await stepSeries()).toBe(1);

    jest.advanceTimersByTime(1_000);
    expect(await stepGauge('three', 'errors')).toBe(0);
    expect(await stepGauge('three', 'down')).toBe(1);

    jest.advanceTimersByTime(2_000);
    expect(await stepGauge('three', 'down')).toBe(0);
    expect(await stepGauge('three', 'slow')).toBe(1);

    jest.advanceTimersByTime(500);
    expect(await stepSeries()).toBe(0);
  });

  it('keeps the series at 1 across two steps in a row with the same name', async () => {
    const { runner, stepGauge } = setup();
    runner.start(presetScenario('flapping', 0.01));
    // The last two steps of flapping are both healthy: 50 ms, then 200 ms.
    jest.advanceTimersByTime(100 + 6 * 100);
    expect(runner.status()).toMatchObject({ step: { index: 13, name: 'healthy' } });
    expect(await stepGauge('flapping', 'healthy')).toBe(1);
    expect(await stepGauge('flapping', 'errors')).toBe(0);
  });

  it('repeats the whole list of steps', () => {
    const { runner, changes } = setup();
    const status = runner.start({
      name: 'blink',
      repeat: 3,
      steps: [step('down', 100, { down: true }), step('healthy', 200)],
    });
    expect(status).toMatchObject({ endsAt: at(900) });
    expect(status.steps.map((s) => s.name)).toEqual([
      'down',
      'healthy',
      'down',
      'healthy',
      'down',
      'healthy',
    ]);

    jest.advanceTimersByTime(650);
    expect(runner.status()).toMatchObject({
      step: { index: 4, name: 'down', startedAt: at(600), endsAt: at(700) },
    });
    jest.advanceTimersByTime(249);
    expect(runner.status()).toMatchObject({ step: { index: 5, name: 'healthy' } });
    jest.advanceTimersByTime(1);
    expect(runner.running).toBe(false);
    expect(changes).toEqual([DOWN, HEALTHY, DOWN, HEALTHY, DOWN, HEALTHY]);
  });

  it('stops mid-way: heals, clears its timers and says so', async () => {
    const { runner, injector, changes, log, stepSeries } = setup();
    runner.start(THREE_STEPS);
    jest.advanceTimersByTime(1_200);
    expect(jest.getTimerCount()).toBe(1);

    expect(runner.stop()).toEqual({
      running: false,
      last: expect.objectContaining({
        name: 'three',
        outcome: 'stopped',
        endedAt: at(1_200),
        step: expect.objectContaining({ index: 1, name: 'down' }),
      }),
    });
    expect(injector.current()).toEqual(HEALTHY);
    expect(jest.getTimerCount()).toBe(0);
    expect(await stepSeries()).toBe(0);

    jest.advanceTimersByTime(10_000);
    expect(changes).toEqual([ERRORS, DOWN, HEALTHY]);
    expect(messages(log, 'gateway scenario stopped')).toEqual([
      expect.objectContaining({
        level: 'info',
        scenario: 'three',
        reason: 'stopped',
        stepIndex: 1,
        step: 'down',
      }),
    ]);
  });

  it('leaves the faults alone when stopped while idle', () => {
    const { runner, injector, log } = setup();
    injector.replace({ latencyMs: 10 });
    expect(runner.stop()).toEqual({ running: false, last: null });
    expect(injector.current()).toEqual(faults({ latencyMs: 10 }));
    expect(messages(log, 'gateway scenario stopped')).toEqual([]);
  });

  it('replaces a running scenario: the old one stops and never comes back', async () => {
    const { runner, injector, changes, log, stepGauge } = setup();
    runner.start(THREE_STEPS);
    jest.advanceTimersByTime(500);

    const other: Scenario = {
      name: 'other',
      repeat: 1,
      steps: [step('slow', 700, { latencyMs: 300 })],
    };
    expect(runner.start(other)).toMatchObject({
      running: true,
      name: 'other',
      startedAt: at(500),
      step: { index: 0, name: 'slow' },
    });
    expect(jest.getTimerCount()).toBe(1);
    expect(await stepGauge('three', 'errors')).toBeUndefined();
    expect(await stepGauge('other', 'slow')).toBe(1);
    expect(messages(log, 'gateway scenario stopped')).toEqual([
      expect.objectContaining({
        scenario: 'three',
        reason: 'replaced',
        replacedBy: 'other',
        stepIndex: 0,
      }),
    ]);

    // Past the moment the first scenario would have gone down: it does not.
    jest.advanceTimersByTime(600);
    expect(injector.current()).toEqual(SLOW);
    jest.advanceTimersByTime(100);
    expect(injector.current()).toEqual(HEALTHY);
    jest.advanceTimersByTime(10_000);
    expect(changes).toEqual([ERRORS, SLOW, HEALTHY]);
    expect(runner.status()).toMatchObject({
      running: false,
      last: { name: 'other', outcome: 'finished' },
    });
  });

  it('gives way to a change by hand: no later step, no heal', () => {
    const { runner, injector, changes, log } = setup();
    runner.start(THREE_STEPS);
    jest.advanceTimersByTime(1_500);

    runner.takeOver('PUT /admin/faults');
    injector.replace({ errorRate: 1, errorStatus: 429 });
    expect(jest.getTimerCount()).toBe(0);
    expect(runner.status()).toMatchObject({
      running: false,
      last: { outcome: 'taken_over', endedAt: at(1_500), step: { index: 1 } },
    });

    jest.advanceTimersByTime(10_000);
    expect(injector.current()).toEqual(faults({ errorRate: 1, errorStatus: 429 }));
    expect(changes).toEqual([ERRORS, DOWN, faults({ errorRate: 1, errorStatus: 429 })]);
    expect(messages(log, 'gateway scenario stopped')).toEqual([
      expect.objectContaining({
        scenario: 'three',
        reason: 'taken_over',
        by: 'PUT /admin/faults',
      }),
    ]);
  });

  it('takes nothing over while idle', () => {
    const { runner, log } = setup();
    runner.takeOver('PATCH /admin/faults');
    expect(runner.status()).toEqual({ running: false, last: null });
    expect(log.lines()).toEqual([]);
  });

  it('closes on shutdown: timers cleared, faults left as they are', () => {
    const { runner, injector } = setup();
    runner.start(THREE_STEPS);
    jest.advanceTimersByTime(1_000);
    runner.close();
    expect(jest.getTimerCount()).toBe(0);
    expect(injector.current()).toEqual(DOWN);
    expect(runner.status()).toMatchObject({ running: false, last: { outcome: 'shutdown' } });
  });

  it('refuses an invalid scenario and keeps the running one', () => {
    const { runner, injector } = setup();
    runner.start(THREE_STEPS);
    const bad = (scenario: Partial<Scenario>) => () =>
      runner.start({ ...THREE_STEPS, ...scenario });
    expect(bad({ steps: [] })).toThrow();
    expect(bad({ name: 'has spaces' })).toThrow();
    expect(bad({ repeat: 0 })).toThrow();
    expect(bad({ steps: [step('zero', 0)] })).toThrow();
    expect(bad({ steps: [{ ...step('x', 100), faults: { ...HEALTHY, errorRate: 2 } }] })).toThrow();
    expect(bad({ steps: [step('x', 100)], repeat: 1_001 })).toThrow();
    expect(runner.status()).toMatchObject({ running: true, name: 'three', step: { index: 0 } });
    jest.advanceTimersByTime(1_000);
    expect(injector.current()).toEqual(DOWN);
  });
});

/** A clock moved by hand, whose timers fire only when told, possibly late. */
class ManualClock implements ScenarioClock {
  time = 0;
  readonly timers: { at: number; run: () => void; cancelled: boolean }[] = [];

  now(): number {
    return this.time;
  }

  schedule(delayMs: number, run: () => void): () => void {
    const timer = { at: this.time + delayMs, run, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Moves to `time` and fires the next live timer, however late that is for it. */
  fireNextAt(time: number): void {
    this.time = time;
    const timer = this.timers.find((candidate) => !candidate.cancelled);
    if (!timer) throw new Error('no timer to fire');
    timer.cancelled = true;
    timer.run();
  }
}

describe('ScenarioRunner on an injected clock', () => {
  it('schedules every step against the plan, so a late timer shifts nothing after it', () => {
    const clock = new ManualClock();
    const { runner, injector } = setup(clock);
    runner.start(THREE_STEPS);
    expect(clock.timers.map((timer) => timer.at)).toEqual([1_000]);

    // The event loop was busy: the timer fires 40 ms late.
    clock.fireNextAt(1_040);
    expect(injector.current()).toEqual(DOWN);
    expect(clock.timers.map((timer) => timer.at)).toEqual([1_000, 3_000]);
    expect(runner.status()).toMatchObject({
      step: { index: 1, startedAt: new Date(1_000).toISOString() },
    });

    clock.fireNextAt(3_000);
    expect(clock.timers.map((timer) => timer.at)).toEqual([1_000, 3_000, 3_500]);
    // So late that the step is already over: the next change comes at once.
    clock.fireNextAt(4_000);
    expect(injector.current()).toEqual(HEALTHY);
    expect(runner.status()).toMatchObject({
      running: false,
      last: { outcome: 'finished', endsAt: new Date(3_500).toISOString() },
    });
  });

  it('ignores a timer of a scenario that has ended, even if it could not be cancelled', () => {
    const clock = new ManualClock();
    const { runner, injector } = setup(clock);
    runner.start(THREE_STEPS);
    const stale = clock.timers[0]!;
    runner.stop();
    stale.run();
    expect(injector.current()).toEqual(HEALTHY);
    expect(runner.running).toBe(false);
  });
});

describe('systemClock', () => {
  it('unrefs its timers, so a scenario never keeps the process alive', () => {
    const setTimeoutSpy = jest.spyOn(global, 'setTimeout');
    try {
      const run = jest.fn();
      const cancel = systemClock.schedule(60_000, run);
      const timer = setTimeoutSpy.mock.results[0]?.value as NodeJS.Timeout;
      expect(timer.hasRef()).toBe(false);
      cancel();
      expect(run).not.toHaveBeenCalled();
    } finally {
      setTimeoutSpy.mockRestore();
    }
  });
});
