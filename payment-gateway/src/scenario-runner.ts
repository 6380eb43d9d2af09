import type {
  EndedScenarioStatus,
  RunningScenarioStatus,
  ScenarioOutcome,
  ScenarioStatus,
} from '@cb-lab/contracts';
import type { Logger } from '@cb-lab/shared';
import type { FaultInjector } from './faults';
import type { GatewayMetrics } from './gateway-metrics';
import { expandSteps, scenarioSchema, type Scenario, type ScenarioStep } from './scenarios';

/** Time as the runner sees it; unit tests pass their own to move it by hand. */
export interface ScenarioClock {
  /** Milliseconds since the epoch, like `Date.now`. */
  now(): number;
  /** Runs `run` once after `delayMs`; the function it returns cancels that. */
  schedule(delayMs: number, run: () => void): () => void;
}

/** The real clock; its timers are unref'd, so a scenario never keeps the process alive. */
export const systemClock: ScenarioClock = {
  now: () => Date.now(),
  schedule(delayMs, run) {
    const timer = setTimeout(run, delayMs);
    timer.unref();
    return () => {
      clearTimeout(timer);
    };
  },
};

export type {
  EndedScenarioStatus,
  RunningScenarioStatus,
  ScenarioOutcome,
  ScenarioStatus,
  StepStatus,
} from '@cb-lab/contracts';

/** A scenario as it runs (or ran): its plan and where it is in it (the contract's shape). */
type ScenarioRunStatus = Omit<RunningScenarioStatus, 'running'>;

export interface ScenarioRunnerOptions {
  injector: FaultInjector;
  logger: Logger;
  metrics: Pick<GatewayMetrics, 'scenarioStep'>;
  clock?: ScenarioClock;
}

interface Run {
  readonly name: string;
  readonly steps: readonly ScenarioStep[];
  /** When each step starts, as planned: `boundaries[0]` is the start of the scenario. */
  readonly boundaries: readonly number[];
  readonly endsAt: number;
  index: number;
  cancel: () => void;
}

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Plays a scenario on the gateway's faults: each step's fault set replaces
 * the active one through the {@link FaultInjector} (so logs and
 * `gateway_fault_active` follow as for any change), and the gateway heals
 * after the last step. One scenario runs at a time.
 *
 * Every step is scheduled against the plan made when the scenario started,
 * not against the moment the previous timer happened to fire, so a busy
 * event loop delays one step a little but never shifts the ones after it.
 * Timers keep the async context they are made in, so the log lines of every
 * step carry the id of the request that started the scenario.
 */
export class ScenarioRunner {
  readonly #clock: ScenarioClock;
  #run: Run | undefined;
  #last: EndedScenarioStatus | null = null;

  constructor(private readonly options: ScenarioRunnerOptions) {
    this.#clock = options.clock ?? systemClock;
  }

  /** Whether a scenario is running. */
  get running(): boolean {
    return this.#run !== undefined;
  }

  /** The running scenario, or how the last one ended (null if none ever ran). */
  status(): ScenarioStatus {
    const run = this.#run;
    return run === undefined
      ? { running: false, last: this.#last }
      : { running: true, ...runStatus(run) };
  }

  /**
   * Starts `scenario` at its first step, at once. A scenario still running is
   * stopped first (without healing: the new first step replaces its faults).
   * Throws, changing nothing, if the scenario is not valid.
   */
  start(scenario: Scenario): RunningScenarioStatus {
    // Checked here too, not only where users post scenarios: a bad fault set found by a
    // timer callback later would throw outside any request.
    const valid = scenarioSchema.parse(scenario);
    if (this.#run) this.#end('replaced', { replacedBy: valid.name });

    const steps = expandSteps(valid);
    const startedAt = this.#clock.now();
    const boundaries: number[] = [];
    let endsAt = startedAt;
    for (const step of steps) {
      boundaries.push(endsAt);
      endsAt += step.durationMs;
    }
    const run: Run = {
      name: valid.name,
      steps,
      boundaries,
      endsAt,
      index: -1,
      cancel: () => undefined,
    };
    this.#run = run;
    this.options.logger.info('gateway scenario started', {
      scenario: run.name,
      steps: steps.length,
      repeat: valid.repeat,
      startedAt: iso(startedAt),
      endsAt: iso(endsAt),
    });
    this.#enter(run, 0);
    return { running: true, ...runStatus(run) };
  }

  /** Stops the running scenario, if any, and heals the gateway; answers the status. */
  stop(): ScenarioStatus {
    if (this.#run) {
      this.#end('stopped');
      this.options.injector.heal();
    }
    return this.status();
  }

  /**
   * Stops the running scenario, if any, and leaves the faults as they are,
   * because someone (`by`) is about to set them by hand: the next step must
   * not undo that.
   */
  takeOver(by: string): void {
    if (this.#run) this.#end('taken_over', { by });
  }

  /** Stops the running scenario, if any, on shutdown: its timers are cleared, nothing healed. */
  close(): void {
    if (this.#run) this.#end('shutdown');
  }

  #enter(run: Run, index: number): void {
    const step = run.steps[index];
    if (step === undefined) return;
    const previous = run.steps[run.index];
    run.index = index;
    const { injector, logger, metrics } = this.options;
    logger.info('gateway scenario step', {
      scenario: run.name,
      stepIndex: index,
      step: step.name,
      durationMs: step.durationMs,
      faults: step.faults,
    });
    // 0 before 1, so two steps in a row with the same name leave their series at 1.
    if (previous) metrics.scenarioStep.labels(run.name, previous.name).set(0);
    metrics.scenarioStep.labels(run.name, step.name).set(1);
    injector.replace(step.faults);

    const next = index + 1;
    const delayMs = Math.max(0, (run.boundaries[next] ?? run.endsAt) - this.#clock.now());
    run.cancel = this.#clock.schedule(delayMs, () => {
      // A timer of a run that has ended since must not touch the faults.
      if (this.#run !== run) return;
      if (next < run.steps.length) {
        this.#enter(run, next);
      } else {
        this.#end('finished');
        injector.heal();
      }
    });
  }

  #end(outcome: ScenarioOutcome, details: Record<string, string> = {}): void {
    const run = this.#run;
    if (run === undefined) return;
    run.cancel();
    this.#run = undefined;
    const endedAt = this.#clock.now();
    this.#last = { ...runStatus(run), endedAt: iso(endedAt), outcome };
    // Nothing is exported while idle, and a scenario's series do not pile up over many runs.
    this.options.metrics.scenarioStep.reset();
    const step = run.steps[run.index];
    this.options.logger.info(
      outcome === 'finished' ? 'gateway scenario finished' : 'gateway scenario stopped',
      {
        scenario: run.name,
        ...(outcome === 'finished' ? {} : { reason: outcome }),
        stepIndex: run.index,
        step: step?.name,
        ...details,
      },
    );
  }
}

function runStatus(run: Run): ScenarioRunStatus {
  const step = run.steps[run.index];
  const stepStartedAt = run.boundaries[run.index];
  // Never the case once start() returns: it enters the first step before anyone can ask.
  if (step === undefined || stepStartedAt === undefined) {
    throw new Error(`scenario ${run.name} is not on a step`);
  }
  return {
    name: run.name,
    startedAt: iso(run.boundaries[0] ?? stepStartedAt),
    endsAt: iso(run.endsAt),
    step: {
      index: run.index,
      name: step.name,
      startedAt: iso(stepStartedAt),
      endsAt: iso(stepStartedAt + step.durationMs),
      faults: step.faults,
    },
    steps: run.steps,
  };
}
