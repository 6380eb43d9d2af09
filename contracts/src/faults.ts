import { z } from 'zod';
import { unknownFields } from './body';

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
});
