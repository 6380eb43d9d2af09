import { z } from 'zod';
import {
  activeFaults,
  FAULT_KINDS,
  faultsPatchSchema,
  faultsSchema,
  HEALTHY,
  type Faults,
  type FaultsPatch,
} from './faults';

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

/** Longest step a user may ask for: an hour is already longer than any lab session. */
export const MAX_STEP_MS = 3_600_000;
/** Shortest step a user may ask for; scaled presets may go below it, down to 1 ms. */
export const MIN_STEP_MS = 100;
export const MAX_REPEAT = 100;
/** Steps in one list, and in all once repeated: bounds the work and the status answer. */
export const MAX_STEPS = 100;
export const MAX_TOTAL_STEPS = 1_000;
export const MIN_SCALE = 0.001;
export const MAX_SCALE = 100;
/** The name of a scenario posted without one. */
export const CUSTOM_SCENARIO_NAME = 'custom';
/** The longest delay a Node.js timer takes; longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const NAME_EXPECTED = 'expected 1 to 40 letters, digits, "-" or "_"';

/**
 * Scenario and step names become metric labels, so they are short and plain:
 * labels stay bounded to names someone chose on purpose.
 */
export const scenarioNameSchema = z
  .string({ error: NAME_EXPECTED })
  .regex(/^[A-Za-z0-9_-]{1,40}$/, NAME_EXPECTED);

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

const tooManyInAll = (steps: number, repeat: number): string =>
  `expected at most ${MAX_TOTAL_STEPS} steps in all once repeated (got ${steps} steps × ${repeat} = ${steps * repeat})`;

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
} as const satisfies Record<string, readonly ScenarioStep[]>;

export type PresetName = keyof typeof PRESET_STEPS;
export const PRESET_NAMES = Object.keys(PRESET_STEPS) as readonly PresetName[];

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

const STEP_FIELDS = ['name', 'durationMs', 'faults'] as const;
const REQUEST_FIELDS = ['preset', 'scale', 'name', 'steps', 'repeat'] as const;

const unknownFields = (keys: readonly string[], expected: readonly string[]): string =>
  `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((key) => `"${key}"`).join(', ')}` +
  ` (expected only ${expected.join(', ')})`;

const presetList = PRESET_NAMES.join(', ');

const durationExpected = `expected whole milliseconds from ${MIN_STEP_MS} to ${MAX_STEP_MS}`;
const scaleExpected = `expected a number from ${MIN_SCALE} to ${MAX_SCALE} (multiplies every duration)`;
const repeatExpected = `expected a whole number from 1 to ${MAX_REPEAT} (how many times the steps run)`;

/** One step as a user posts it: faults with `PUT` semantics (fields left out are healthy). */
const stepRequestSchema = z.strictObject(
  {
    name: scenarioNameSchema.optional(),
    durationMs: z
      .number({ error: durationExpected })
      .int(durationExpected)
      .min(MIN_STEP_MS, durationExpected)
      .max(MAX_STEP_MS, durationExpected),
    faults: faultsPatchSchema,
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? unknownFields(issue.keys, STEP_FIELDS)
        : 'expected a step object with durationMs, faults and an optional name',
  },
);

/**
 * The body of `POST /admin/scenario`, turned into the scenario to run:
 * either `{"preset", "scale"?}` or `{"name"?, "steps", "repeat"?}`, never a
 * mix. Unknown fields are refused, as on `/admin/faults`.
 */
export const scenarioRequestSchema = z
  .strictObject(
    {
      preset: z
        .enum(PRESET_NAMES as [PresetName, ...PresetName[]], {
          error: (issue) =>
            typeof issue.input === 'string'
              ? `unknown preset "${issue.input}" (expected one of ${presetList})`
              : `expected a preset name, one of ${presetList}`,
        })
        .optional(),
      scale: z
        .number({ error: scaleExpected })
        .min(MIN_SCALE, scaleExpected)
        .max(MAX_SCALE, scaleExpected)
        .optional(),
      name: scenarioNameSchema.optional(),
      steps: z
        .array(stepRequestSchema, { error: 'expected a list of steps' })
        .min(1, 'expected at least one step')
        .max(MAX_STEPS, `expected at most ${MAX_STEPS} steps`)
        .optional(),
      repeat: z
        .number({ error: repeatExpected })
        .int(repeatExpected)
        .min(1, repeatExpected)
        .max(MAX_REPEAT, repeatExpected)
        .optional(),
    },
    {
      error: (issue) =>
        issue.code === 'unrecognized_keys'
          ? unknownFields(issue.keys, REQUEST_FIELDS)
          : 'expected a JSON object with either "preset" or "steps"',
    },
  )
  .superRefine((body, context) => {
    const problem = (message: string, field?: string) => {
      context.addIssue({ code: 'custom', message, path: field === undefined ? [] : [field] });
    };
    const hasPreset = body.preset !== undefined;
    const hasSteps = body.steps !== undefined;
    if (hasPreset && hasSteps) problem('expected either "preset" or "steps", not both');
    if (!hasPreset && !hasSteps) problem(`expected "preset" (one of ${presetList}) or "steps"`);
    if (hasPreset) {
      if (body.name !== undefined) problem('only goes with "steps" (a preset has its own)', 'name');
      if (body.repeat !== undefined) problem('only goes with "steps"', 'repeat');
    }
    if (hasSteps && body.scale !== undefined) problem('only goes with "preset"', 'scale');
    const repeat = body.repeat ?? 1;
    if (body.steps && body.steps.length * repeat > MAX_TOTAL_STEPS) {
      problem(tooManyInAll(body.steps.length, repeat), 'repeat');
    }
  })
  .transform((body): Scenario => {
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
