import { z } from 'zod';
import { unknownFields } from './body';

/**
 * The header a caller of the gateway names itself with (payments sends its
 * replica id, its `INSTANCE`), so a fault can be limited to some callers.
 */
export const CALLER_HEADER = 'Caller-Replica';

/** A caller's name as {@link CALLER_HEADER} carries it: a container id or host name. */
export const callerIdSchema = z
  .string({ error: 'expected a replica id as a string' })
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/,
    'expected a replica id: 1 to 64 letters, digits, ".", "_", ":" or "-", starting with a letter or digit',
  );

/** Most replica ids one scope may name. */
export const MAX_SCOPE_REPLICAS = 32;

/**
 * Which callers the faults reach. `null` is every caller, named or not (the
 * meaning of every fault set before scopes existed). `replicas` names the
 * callers; `share` is that share of the callers the gateway has heard from
 * lately, the same ones for as long as the set of callers stays the same.
 * A scoped fault never reaches a caller that does not name itself.
 */
export type FaultScope = { replicas: string[] } | { share: number };

/** The gateway's active faults (`/admin/faults`); they all combine. */
export interface Faults {
  /** Share of charges (0 to 1) answered with `errorStatus` before any charge is made. */
  errorRate: number;
  /** The status of injected errors: 429 or a 5xx. */
  errorStatus: number;
  /** Milliseconds added before answering a charge (also an injected error). */
  latencyMs: number;
  /** Up to this many more milliseconds, drawn uniformly for each request. */
  jitterMs: number;
  /** Share of charges (0 to 1) accepted and never answered. */
  timeoutRate: number;
  /** Every charge request has its connection destroyed without an answer. */
  down: boolean;
  /** The callers the faults above reach; `null` is every caller. */
  scope: FaultScope | null;
}

/** Any subset of the fault fields: what `PUT` (rest from defaults) and `PATCH` (rest kept) accept. */
export type FaultsPatch = Partial<Faults>;

const FAULT_FIELDS = [
  'errorRate',
  'errorStatus',
  'latencyMs',
  'jitterMs',
  'timeoutRate',
  'down',
  'scope',
] as const satisfies readonly (keyof Faults)[];

/** Longest injected latency or jitter: a minute is already far beyond any caller's timeout. */
export const MAX_FAULT_DELAY_MS = 60_000;

/** 429 stands for a third party that rate-limits; every 5xx for one that is failing. */
export const isFaultStatus = (status: number): boolean =>
  status === 429 || (status >= 500 && status <= 599);

const rateSchema = () => {
  const expected = 'expected a number from 0 to 1 (the share of charges affected)';
  return z.number({ error: expected }).min(0, expected).max(1, expected);
};

const delaySchema = () => {
  const expected = `expected whole milliseconds from 0 to ${MAX_FAULT_DELAY_MS}`;
  return z
    .number({ error: expected })
    .int(expected)
    .min(0, expected)
    .max(MAX_FAULT_DELAY_MS, expected);
};

const statusExpected = 'expected 429 or an HTTP status from 500 to 599';

const scopeExpected =
  'expected null (every caller), {"replicas": [ids]} or {"share": a number above 0 up to 1}';

const scopeSchema = z.union(
  [
    z.strictObject({
      replicas: z
        .array(callerIdSchema, { error: 'expected "replicas" as a list of replica ids' })
        .min(1, 'expected at least one replica id (null reaches every caller)')
        .max(MAX_SCOPE_REPLICAS, `expected at most ${MAX_SCOPE_REPLICAS} replica ids`)
        .refine((ids) => new Set(ids).size === ids.length, 'expected each replica id once'),
    }),
    z.strictObject({
      share: z
        .number({ error: 'expected "share" as a number above 0 up to 1' })
        .gt(0, 'expected a share above 0 (a fault that reaches no caller is no fault)')
        .max(1, 'expected a share of at most 1'),
    }),
  ],
  { error: scopeExpected },
);

/**
 * The complete fault set, every field required: the answer of every
 * `/admin/faults` route. As a body, unknown fields are refused so a typo
 * (`errorrate`) fails loudly instead of silently injecting nothing.
 */
export const faultsSchema = z.strictObject(
  {
    errorRate: rateSchema(),
    errorStatus: z
      .number({ error: statusExpected })
      .int(statusExpected)
      .refine(isFaultStatus, statusExpected),
    latencyMs: delaySchema(),
    jitterMs: delaySchema(),
    timeoutRate: rateSchema(),
    down: z.boolean({ error: 'expected true or false' }),
    scope: scopeSchema.nullable(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? unknownFields(issue.keys, FAULT_FIELDS)
        : `expected a JSON object with any of ${FAULT_FIELDS.join(', ')}`,
  },
) satisfies z.ZodType<Faults>;

/** The body of `PUT` and `PATCH /admin/faults`: any subset of the fields, nothing else. */
export const faultsPatchSchema = faultsSchema.partial() satisfies z.ZodType<FaultsPatch>;

/** No fault at all: the gateway as it starts, and what healing returns to. */
export const HEALTHY: Readonly<Faults> = Object.freeze({
  errorRate: 0,
  errorStatus: 503,
  latencyMs: 0,
  jitterMs: 0,
  timeoutRate: 0,
  down: false,
  scope: null,
});

/** The callers `scope` reaches, as one line: `every caller`, `replicas a, b`, `50% of callers`. */
export function describeScope(scope: FaultScope | null): string {
  if (scope === null) return 'every caller';
  if ('replicas' in scope)
    return `replica${scope.replicas.length > 1 ? 's' : ''} ${scope.replicas.join(', ')}`;
  return `${Math.round(scope.share * 100)}% of callers`;
}

/** `GET /admin/callers`: the callers the gateway heard from lately, and whether the faults reach each. */
export const callerListSchema = z.object({
  callers: z.array(z.object({ replica: callerIdSchema, reached: z.boolean() })),
});
export type CallerList = z.output<typeof callerListSchema>;
