import {
  MAX_REPEAT,
  MAX_SCALE,
  MAX_TOTAL_STEPS,
  MIN_SCALE,
  PRESET_NAMES,
  scenarioNameSchema,
  scenarioRequestSchema as scenarioRequestBodySchema,
  tooManyInAll,
  type PresetName,
} from '@cb-lab/contracts';
import { z } from 'zod';
import {
  activeFaults,
  FAULT_KINDS,
  faultsSchema,
  HEALTHY,
  type Faults,
  type FaultsPatch,
} from './faults';

export { PRESET_NAMES, type PresetName } from '@cb-lab/contracts';

/** One phase of a scenario: a complete fault set held for `durationMs`. */
export interface ScenarioStep {
  /** The phase it stands for (`healthy`, `down`, …): a label of `gateway_scenario_step`. */
  readonly name: string;
  readonly durationMs: number;
  /** Every field filled, as `PUT /admin/faults` would leave them. */
  readonly faults: Readonly<Faults>;
}

/** A timed sequence of fault sets, run by a `ScenarioRunner`. */
export interface Scenario {
  /** A preset's name or one a user gave: a label of `gateway_scenario_step`. */
  readonly name: string;
  readonly steps: readonly ScenarioStep[];
  /** How many times the whole list of steps runs, one pass after the other. */
  readonly repeat: number;
}

/** The name of a scenario posted without one. */
export const CUSTOM_SCENARIO_NAME = 'custom';
/** The longest delay a Node.js timer takes; longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The phase a step without a name stands for, named after the faults it
 * injects as `gateway_fault_active` names them: `healthy`, `down`,
 * `error_rate-latency`, …
 */
export function phaseName(faults: Readonly<Faults>): string {
  const active = activeFaults(faults);
  const kinds = FAULT_KINDS.filter((kind) => active[kind]);
  return kinds.length === 0 ? 'healthy' : kinds.join('-');
}

/** The steps as they run: the list `repeat` times over. */
export function expandSteps(scenario: Scenario): ScenarioStep[] {
  return Array.from({ length: scenario.repeat }, () => scenario.steps).flat();
}

/** How long the whole scenario lasts, every repetition included. */
export function scenarioDurationMs(scenario: Scenario): number {
  return scenario.repeat * scenario.steps.reduce((total, step) => total + step.durationMs, 0);
}

/**
 * What a `ScenarioRunner` accepts, checked before anything runs so a bad step
 * can never throw later from a timer. Durations only need to be whole
 * milliseconds a timer can wait: the 100 ms floor and the hour ceiling are
 * for what users post, and scaled presets go beyond both.
 */
export const scenarioSchema = z
  .object({
    name: scenarioNameSchema,
    steps: z
      .array(
        z.object({
          name: scenarioNameSchema,
          durationMs: z.number().int().min(1).max(MAX_TIMER_MS),
          faults: faultsSchema,
        }),
      )
      .min(1)
      .max(MAX_TOTAL_STEPS),
    repeat: z.number().int().min(1).max(MAX_REPEAT),
  })
  .superRefine(({ steps, repeat }, context) => {
    if (steps.length * repeat > MAX_TOTAL_STEPS) {
      context.addIssue({ code: 'custom', message: tooManyInAll(steps.length, repeat) });
    }
  }) satisfies z.ZodType<Scenario>;

const step = (name: string, durationMs: number, faults: FaultsPatch = {}): ScenarioStep => ({
  name,
  durationMs,
  faults: Object.freeze({ ...HEALTHY, ...faults }),
});
const healthy = (durationMs: number): ScenarioStep => step('healthy', durationMs);

/**
 * A preset's steps at scale 1. Every preset starts healthy, so there is a
 * baseline to compare with, and ends healthy long enough for a breaker to
 * probe and close again.
 */
const PRESET_STEPS = {
  outage: [healthy(15_000), step('down', 45_000, { down: true }), healthy(30_000)],
  brownout: [
    healthy(15_000),
    step('brownout', 45_000, { latencyMs: 800, jitterMs: 400, errorRate: 0.3, errorStatus: 503 }),
    healthy(30_000),
  ],
  flapping: [
    healthy(10_000),
    ...Array.from({ length: 6 }, () => [
      step('errors', 5_000, { errorRate: 1, errorStatus: 503 }),
      healthy(5_000),
    ]).flat(),
    healthy(20_000),
  ],
  timeouts: [healthy(15_000), step('timeouts', 30_000, { timeoutRate: 1 }), healthy(30_000)],
} as const satisfies Record<PresetName, readonly ScenarioStep[]>;

/** What each preset does, in a sentence, for `GET /admin/scenarios`. */
export const PRESET_DESCRIPTIONS = {
  outage: 'The gateway goes down (every connection cut) for 45 s, then heals.',
  brownout:
    'The gateway turns slow and flaky for 45 s: 800-1200 ms per answer, 30% of charges fail with 503.',
  flapping: 'Six times over, every charge fails with 503 for 5 s, then the gateway is healthy 5 s.',
  timeouts: 'For 30 s every charge is accepted and never answered.',
} as const satisfies Record<PresetName, string>;

/**
 * The preset `name` with every duration multiplied by `scale` (rounded to
 * whole milliseconds), so tests and the lab CLI can play it faster or slower.
 */
export function presetScenario(name: PresetName, scale = 1): Scenario {
  if (!(scale >= MIN_SCALE && scale <= MAX_SCALE)) {
    throw new RangeError(`scale must be from ${MIN_SCALE} to ${MAX_SCALE} (got ${scale})`);
  }
  const steps = PRESET_STEPS[name].map((original) => {
    const durationMs = Math.round(original.durationMs * scale);
    // Unreachable with today's presets (the shortest step is 5 s), but a step that rounds
    // to 0 ms would silently vanish from the run.
    if (durationMs < 1) {
      throw new RangeError(
        `scale ${scale} makes the ${original.name} step of preset ${name} shorter than 1 ms`,
      );
    }
    return { ...original, durationMs };
  });
  return { name, steps, repeat: 1 };
}

/** The presets by name, each a function of an optional `scale` (see {@link presetScenario}). */
export const PRESETS = Object.fromEntries(
  PRESET_NAMES.map((name) => [name, (scale?: number) => presetScenario(name, scale)]),
) as Record<PresetName, (scale?: number) => Scenario>;

/**
 * The body of `POST /admin/scenario` (the contract's schema), turned into the
 * scenario to run: a preset at its scale, or the posted steps with every
 * fault field filled and unnamed steps named after their faults.
 */
export const scenarioRequestSchema = scenarioRequestBodySchema.transform((body): Scenario => {
  if (body.preset !== undefined) return presetScenario(body.preset, body.scale);
  return {
    name: body.name ?? CUSTOM_SCENARIO_NAME,
    steps: (body.steps ?? []).map(({ name, durationMs, faults }) => {
      const complete = Object.freeze({ ...HEALTHY, ...faults });
      return { name: name ?? phaseName(complete), durationMs, faults: complete };
    }),
    repeat: body.repeat ?? 1,
  };
});
