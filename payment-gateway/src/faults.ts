import { z } from 'zod';

/** The active faults of the gateway; they all combine. */
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

const unknownFields = (keys: readonly string[]): string =>
  `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((key) => `"${key}"`).join(', ')}` +
  ` (expected only ${FAULT_FIELDS.join(', ')})`;

/**
 * The complete fault set, every field required. Unknown fields are refused so
 * a typo (`errorrate`) fails loudly instead of silently injecting nothing.
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
        ? unknownFields(issue.keys)
        : `expected a JSON object with any of ${FAULT_FIELDS.join(', ')}`,
  },
) satisfies z.ZodType<Faults>;

/** The body of `PUT` and `PATCH /admin/faults`: any subset of the fields, nothing else. */
export const faultsPatchSchema = faultsSchema.partial() satisfies z.ZodType<FaultsPatch>;

/** No fault at all: the gateway as it starts, and what `heal()` returns to. */
export const HEALTHY: Readonly<Faults> = Object.freeze({
  errorRate: 0,
  errorStatus: 503,
  latencyMs: 0,
  jitterMs: 0,
  timeoutRate: 0,
  down: false,
});

/** The faults as the `gateway_fault_active{fault}` gauge names them. */
export const FAULT_KINDS = ['error_rate', 'latency', 'timeout', 'down'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Which kinds of fault `faults` injects; `errorStatus` alone injects nothing. */
export function activeFaults(faults: Readonly<Faults>): Record<FaultKind, boolean> {
  return {
    error_rate: faults.errorRate > 0,
    latency: faults.latencyMs > 0 || faults.jitterMs > 0,
    timeout: faults.timeoutRate > 0,
    down: faults.down,
  };
}

/** A source of uniform numbers in [0, 1), like `Math.random`; tests pass a fixed sequence. */
export type RandomSource = () => number;

/** What happens to one request under the active faults. */
export type FaultDecision =
  /** Destroy the connection without an answer (`down`). */
  | { readonly action: 'drop' }
  /** Accept the request and never answer it (`timeoutRate`). */
  | { readonly action: 'hold' }
  /** Answer `status` after `delayMs`, without reaching the business logic (`errorRate`). */
  | { readonly action: 'fail'; readonly status: number; readonly delayMs: number }
  /** Let the request through after `delayMs` (0 when no latency is injected). */
  | { readonly action: 'pass'; readonly delayMs: number };

/**
 * Decides the fate of one request, using `random` for every roll of the dice.
 *
 * `down` wins over everything and draws nothing. Otherwise one draw `r`
 * splits [0, 1) so the configured rates are exact shares of all requests:
 * `r < timeoutRate` holds the request, `r < timeoutRate + errorRate` fails it,
 * anything above passes. (If the two rates add up to more than 1, timeouts
 * get their full share and errors the rest.) Failed and passed requests are
 * then delayed by `latencyMs` plus a second draw, uniform over the whole
 * milliseconds of [0, jitterMs], taken only when `jitterMs` is above 0.
 */
export function decideFault(faults: Readonly<Faults>, random: RandomSource): FaultDecision {
  if (faults.down) return { action: 'drop' };
  const roll = random();
  if (roll < faults.timeoutRate) return { action: 'hold' };
  const delayMs =
    faults.latencyMs + (faults.jitterMs > 0 ? Math.floor(random() * (faults.jitterMs + 1)) : 0);
  if (roll < faults.timeoutRate + faults.errorRate) {
    return { action: 'fail', status: faults.errorStatus, delayMs };
  }
  return { action: 'pass', delayMs };
}

/** Called after every change with the new faults and the ones they replaced. */
export type FaultsListener = (faults: Readonly<Faults>, previous: Readonly<Faults>) => void;

/**
 * The gateway's one set of active faults and the only way to change it: the
 * admin API goes through here, and so can anything else that drives faults
 * (a timed scenario, say), so listeners (logs, metrics) see every change.
 */
export class FaultInjector {
  #faults: Readonly<Faults> = HEALTHY;
  readonly #listeners = new Set<FaultsListener>();

  constructor(private readonly random: RandomSource = Math.random) {}

  /** The active faults, every field filled. */
  current(): Readonly<Faults> {
    return this.#faults;
  }

  /** Makes `faults` the active set; fields it leaves out take their healthy defaults. */
  replace(faults: FaultsPatch): Readonly<Faults> {
    return this.#set({ ...HEALTHY, ...faults });
  }

  /** Changes only the fields `patch` names, keeping the rest of the active set. */
  merge(patch: FaultsPatch): Readonly<Faults> {
    return this.#set({ ...this.#faults, ...patch });
  }

  /** Removes every fault. */
  heal(): Readonly<Faults> {
    return this.#set(HEALTHY);
  }

  /** Registers `listener` for every later change; returns a function that unregisters it. */
  onChange(listener: FaultsListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Decides the fate of one request under the active faults (see {@link decideFault}). */
  decide(random: RandomSource = this.random): FaultDecision {
    return decideFault(this.#faults, random);
  }

  #set(candidate: Faults): Readonly<Faults> {
    // Callers other than the admin API validate their own input too, but the
    // active set must never hold a value the middleware cannot act on.
    const next = Object.freeze(faultsSchema.parse(candidate));
    const previous = this.#faults;
    this.#faults = next;
    if (!sameFaults(previous, next)) {
      for (const listener of this.#listeners) listener(next, previous);
    }
    return next;
  }
}

const sameFaults = (a: Readonly<Faults>, b: Readonly<Faults>): boolean =>
  FAULT_FIELDS.every((field) => a[field] === b[field]);
