import { faultsSchema, HEALTHY, type Faults, type FaultsPatch } from '@cb-lab/contracts';
import { CallerDirectory } from './callers';

export {
  describeScope,
  type Faults,
  type FaultScope,
  type FaultsPatch,
  faultsPatchSchema,
  faultsSchema,
  HEALTHY,
  isFaultStatus,
  MAX_FAULT_DELAY_MS,
} from '@cb-lab/contracts';

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
 * The scope is not looked at here: a request outside it never gets this far
 * (see {@link FaultInjector.decide}).
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

  constructor(
    private readonly random: RandomSource = Math.random,
    /** The callers a `share` scope is taken from; every named request is noted in it. */
    readonly callers: CallerDirectory = new CallerDirectory(),
  ) {}

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

  /** The callers heard lately, and whether the active faults reach each (none when healthy). */
  reachedCallers(): { replica: string; reached: boolean }[] {
    const injecting = Object.values(activeFaults(this.#faults)).some(Boolean);
    return this.callers.callers().map((replica) => ({
      replica,
      reached: injecting && this.callers.reaches(this.#faults.scope, replica),
    }));
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

  /**
   * Decides the fate of one request from `caller` (undefined: it gave no
   * name) under the active faults: a request outside their scope passes at
   * once, without a draw; any other is decided by {@link decideFault}.
   */
  decide(caller?: string, random: RandomSource = this.random): FaultDecision {
    if (caller !== undefined) this.callers.heard(caller);
    if (!this.callers.reaches(this.#faults.scope, caller)) return { action: 'pass', delayMs: 0 };
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

// Fields are numbers, booleans or a scope of plain data, created in one field order by the schema.
const sameFaults = (a: Readonly<Faults>, b: Readonly<Faults>): boolean =>
  JSON.stringify(a) === JSON.stringify(b);
