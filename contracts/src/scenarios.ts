import { z } from 'zod';
import { unknownFields } from './body';
import { faultsPatchSchema, faultsSchema } from './faults';

/** The gateway's preset scenarios, by name (their steps live with the gateway). */
export const PRESET_NAMES = ['outage', 'brownout', 'flapping', 'timeouts'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

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

const NAME_EXPECTED = 'expected 1 to 40 letters, digits, "-" or "_"';

/**
 * Scenario and step names become metric labels, so they are short and plain:
 * labels stay bounded to names someone chose on purpose.
 */
export const scenarioNameSchema = z
  .string({ error: NAME_EXPECTED })
  .regex(/^[A-Za-z0-9_-]{1,40}$/, NAME_EXPECTED);

export const tooManyInAll = (steps: number, repeat: number): string =>
  `expected at most ${MAX_TOTAL_STEPS} steps in all once repeated (got ${steps} steps × ${repeat} = ${steps * repeat})`;

const STEP_FIELDS = ['name', 'durationMs', 'faults'] as const;
const REQUEST_FIELDS = ['preset', 'scale', 'name', 'steps', 'repeat'] as const;
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
 * The body of `POST /admin/scenario`: either `{"preset", "scale"?}` or
 * `{"name"?, "steps", "repeat"?}`, never a mix. Unknown fields are refused.
 */
export const scenarioRequestSchema = z
  .strictObject(
    {
      preset: z
        .enum(PRESET_NAMES, {
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
  });

export type ScenarioRequest = z.output<typeof scenarioRequestSchema>;

/** One planned step, every fault field filled. */
export const scenarioStepSchema = z.object({
  name: z.string(),
  durationMs: z.number(),
  faults: faultsSchema,
});

/** The step a scenario is on; times are ISO-8601. */
export const stepStatusSchema = z.object({
  /** Position in `steps`, which lists every repetition. */
  index: z.number(),
  name: z.string(),
  startedAt: z.string(),
  endsAt: z.string(),
  faults: faultsSchema,
});

/** A scenario as it runs (or ran): its plan and where it is in it. */
export const scenarioRunSchema = z.object({
  name: z.string(),
  startedAt: z.string(),
  /** When the last step ends, as planned. */
  endsAt: z.string(),
  step: stepStatusSchema,
  /** Every step in the order they run, `repeat` included. */
  steps: z.array(scenarioStepSchema).readonly(),
});

/**
 * How a scenario ended: it ran its last step (`finished`), was stopped
 * through the admin API (`stopped`), gave way to another (`replaced`), to a
 * direct change of the faults (`taken_over`) or to the gateway stopping
 * (`shutdown`).
 */
export const SCENARIO_OUTCOMES = [
  'finished',
  'stopped',
  'replaced',
  'taken_over',
  'shutdown',
] as const;

export const endedScenarioSchema = scenarioRunSchema.extend({
  endedAt: z.string(),
  outcome: z.enum(SCENARIO_OUTCOMES),
});

/** `GET /admin/scenario`: the running scenario, or how the last one ended. */
export const scenarioStatusSchema = z.discriminatedUnion('running', [
  scenarioRunSchema.extend({ running: z.literal(true) }),
  z.object({ running: z.literal(false), last: endedScenarioSchema.nullable() }),
]);

export type ScenarioStatus = z.output<typeof scenarioStatusSchema>;
export type RunningScenarioStatus = Extract<ScenarioStatus, { running: true }>;
export type EndedScenarioStatus = z.output<typeof endedScenarioSchema>;
export type ScenarioOutcome = (typeof SCENARIO_OUTCOMES)[number];
export type StepStatus = z.output<typeof stepStatusSchema>;

/** `GET /admin/scenarios`: every preset with its steps at scale 1. */
export const presetListSchema = z.object({
  presets: z.array(
    z.object({
      name: z.enum(PRESET_NAMES),
      description: z.string(),
      durationMs: z.number(),
      steps: z.array(scenarioStepSchema),
    }),
  ),
});

export type PresetList = z.output<typeof presetListSchema>;
