import { periodMs, positive } from './checks';
import { ConsecutiveStrategy } from './consecutive-strategy';
import { RateStrategy } from './rate-strategy';
import type { TripStrategy } from './trip-strategy';

/** Open after `threshold` consecutive failures across the cluster (pybreaker's `fail_max`). */
export interface ConsecutiveFailures {
  mode: 'consecutive';
  threshold: number;
}

/**
 * Open when at least `threshold` (a ratio above 0, up to 1) of the calls in
 * the last `windowMs` failed, once the window holds `minCalls` calls. The
 * window slides by buckets: the decision is taken as each bucket ends.
 */
export interface FailureRate {
  mode: 'rate';
  threshold: number;
  minCalls: number;
  windowMs: number;
  /** How many buckets the window slides by (1 to 100); defaults to 10. */
  buckets?: number;
}

export interface SharedCircuitBreakerOptions {
  /** Names the breaker; every replica using the same name shares one state. */
  name: string;
  /** Names this replica in snapshots; defaults to the host name. */
  replica?: string;
  /** Key prefix before the `{cb:NAME}` hash tag, to share a Redis between labs. */
  namespace?: string;
  /**
   * When the breaker opens: `{ mode: 'consecutive', … }`, `{ mode: 'rate', … }`,
   * or a {@link TripStrategy} object.
   */
  trip: ConsecutiveFailures | FailureRate | TripStrategy;
  /** How long the breaker stays open before one probe may run. */
  openMs: number;
  /** Each reopening after a failed probe multiplies the open period by `backoffFactor`, up to this. Defaults to `openMs` (no growth). */
  maxOpenMs?: number;
  backoffFactor?: number;
  /** A call that succeeds but takes longer than this counts as a failure (default: never). */
  slowCallMs?: number;
  /**
   * Count a call as a slow failure the moment it has been in flight for
   * `slowCallMs`, rather than when it ends: a dependency that stops
   * answering opens the breaker about `slowCallMs` after the hang begins,
   * not after the calls' own timeouts. The call itself runs on; its end
   * counts nothing more. Needs `slowCallMs`. Applies while the shared state
   * is in use; the local breaker (Redis away) and a quorum's guard count a
   * slow call when it ends. Costs one timer per call.
   */
  slowCallsInFlight?: boolean;
  /** Which errors count as failures; defaults to every error ({@link isAnyFailure}). */
  isFailure?: (error: unknown) => boolean;
  /**
   * How long the probe's holder keeps the lease. Must exceed the call's own
   * timeout: when it runs out without a report (the prober crashed), the next
   * caller probes instead.
   */
  probeLeaseMs?: number;
  /** While Redis cannot be reached: `local` runs an in-process breaker, `reject` refuses every call. */
  whenStoreDown?: 'local' | 'reject';
  /** How often a degraded breaker asks Redis whether it is back. */
  storeRetryMs?: number;
  /** How often the shared state is read again, in case a message was lost or Redis went back. */
  syncIntervalMs?: number;
  /** Rate mode: how long outcomes are gathered before one write. */
  flushIntervalMs?: number;
  /**
   * How many distinct replicas must have tripped on their own outcomes
   * within `quorumWindowMs` before the trip rule may open the shared state
   * (default 1: any replica's failures may). Above 1, each replica keeps a
   * local breaker of its own with the same rule on its own outcomes; a
   * replica whose own path to the dependency is broken trips it, which stops
   * that replica and is its vote, but cannot open the breaker for the others
   * alone. Every replica must have its own `replica` name. Not combined with
   * `slowCallsInFlight`.
   */
  quorum?: number;
  /**
   * How far back a replica's last failure counts towards the quorum, on
   * Redis's clock. Defaults to the window in rate mode, 10 s otherwise.
   */
  quorumWindowMs?: number;
}

/** Consecutive mode, as the scripts and the local breaker apply it. */
export interface ConsecutiveTrip {
  mode: 'consecutive';
  threshold: number;
}

/** Rate mode, as the scripts and the local breaker apply it: integers only. */
export interface RateTrip {
  mode: 'rate';
  /** The threshold ratio in millionths, so that "at least" is decided on integers. */
  thresholdPpm: number;
  minCalls: number;
  bucketMs: number;
  /** Buckets in the window. */
  buckets: number;
}

export type TripSettings = ConsecutiveTrip | RateTrip;

/**
 * A reporting replica's part in the quorum: its name, how many distinct
 * replicas an opening needs within `windowMs` (see
 * {@link SharedCircuitBreakerOptions.quorum}), and whether this replica's
 * own outcomes met the trip rule (its own breaker opened): only then does
 * it vote. A replica with a stray failure among successes never votes.
 */
export interface QuorumVote {
  replica: string;
  replicas: number;
  windowMs: number;
  tripped: boolean;
}

/** How long the breaker stays open, and how the period grows after failed probes. */
export interface OpenSettings {
  openMs: number;
  maxOpenMs: number;
  backoffFactor: number;
}

export interface ResolvedOptions extends Required<
  Omit<SharedCircuitBreakerOptions, 'trip' | 'namespace' | 'openMs' | 'maxOpenMs' | 'backoffFactor'>
> {
  namespace: string;
  trip: TripStrategy;
  open: OpenSettings;
}

/** The open period after the `openCount`-th opening since the breaker last closed. */
export const openPeriodMs = (open: OpenSettings, openCount: number): number =>
  Math.floor(Math.min(open.openMs * open.backoffFactor ** (openCount - 1), open.maxOpenMs));

/** The strategy for a trip setting, checked; a strategy object is taken as it is. */
export function tripStrategy(trip: ConsecutiveFailures | FailureRate | TripStrategy): TripStrategy {
  return 'createReporter' in trip ? trip : strategyFor(resolveTrip(trip));
}

/** The strategy that applies resolved settings (the store's and the local breaker's form). */
export function strategyFor(settings: TripSettings): TripStrategy {
  return settings.mode === 'consecutive'
    ? new ConsecutiveStrategy(settings)
    : new RateStrategy(settings);
}

function resolveTrip(trip: ConsecutiveFailures | FailureRate): TripSettings {
  if (trip.mode === 'consecutive') {
    return { mode: 'consecutive', threshold: positive('trip.threshold', trip.threshold, true) };
  }
  const thresholdPpm = Math.round(trip.threshold * 1_000_000);
  if (!(trip.threshold > 0 && trip.threshold <= 1) || thresholdPpm < 1)
    throw new RangeError(
      `trip.threshold must be a ratio above 0 (at least 0.000001) and at most 1 (got ${trip.threshold})`,
    );
  const windowMs = periodMs('trip.windowMs', trip.windowMs);
  const buckets = positive('trip.buckets', trip.buckets ?? 10, true);
  if (buckets > 100) throw new RangeError(`trip.buckets must be at most 100 (got ${buckets})`);
  if (windowMs < buckets)
    throw new RangeError(`trip.windowMs (${windowMs}) must be at least trip.buckets (${buckets})`);
  return {
    mode: 'rate',
    thresholdPpm,
    minCalls: positive('trip.minCalls', trip.minCalls, true),
    bucketMs: Math.floor(windowMs / buckets),
    buckets,
  };
}

/** Fills defaults and checks every setting, so a bad one fails at construction, not at the first outage. */
export function resolveOptions(
  options: SharedCircuitBreakerOptions,
  defaults: { replica: string; isFailure: (error: unknown) => boolean },
): ResolvedOptions {
  const openMs = periodMs('openMs', options.openMs);
  const maxOpenMs = periodMs('maxOpenMs', options.maxOpenMs ?? openMs);
  if (maxOpenMs < openMs)
    throw new RangeError(`maxOpenMs (${maxOpenMs}) must be at least openMs (${openMs})`);
  const backoffFactor = positive('backoffFactor', options.backoffFactor ?? 2);
  if (backoffFactor < 1)
    throw new RangeError(`backoffFactor must be at least 1 (got ${backoffFactor})`);
  const trip = tripStrategy(options.trip);
  const quorum = positive('quorum', options.quorum ?? 1, true);
  const quorumWindowMs = periodMs(
    'quorumWindowMs',
    options.quorumWindowMs ??
      (isRateTrip(trip) ? trip.settings.bucketMs * trip.settings.buckets : 10_000),
  );
  const whenStoreDown = options.whenStoreDown ?? 'local';
  // TypeScript callers cannot get this wrong; JavaScript ones can, and would silently get 'local'.
  if (!(['local', 'reject'] as unknown[]).includes(whenStoreDown))
    throw new RangeError(`whenStoreDown must be 'local' or 'reject' (got '${whenStoreDown}')`);
  return {
    name: options.name,
    replica: options.replica ?? defaults.replica,
    namespace: options.namespace ?? '',
    trip,
    open: { openMs, maxOpenMs, backoffFactor },
    slowCallMs:
      options.slowCallMs === undefined ? Infinity : positive('slowCallMs', options.slowCallMs),
    slowCallsInFlight: slowCallsInFlight(options),
    isFailure: options.isFailure ?? defaults.isFailure,
    probeLeaseMs: periodMs('probeLeaseMs', options.probeLeaseMs ?? 10_000),
    whenStoreDown,
    storeRetryMs: periodMs('storeRetryMs', options.storeRetryMs ?? 1_000),
    syncIntervalMs: periodMs('syncIntervalMs', options.syncIntervalMs ?? 5_000),
    flushIntervalMs: periodMs('flushIntervalMs', options.flushIntervalMs ?? 100),
    quorum,
    quorumWindowMs,
  };
}

function slowCallsInFlight(options: SharedCircuitBreakerOptions): boolean {
  const inFlight = options.slowCallsInFlight ?? false;
  if (typeof inFlight !== 'boolean')
    throw new RangeError(`slowCallsInFlight must be true or false (got ${String(inFlight)})`);
  if (inFlight && options.slowCallMs === undefined)
    throw new RangeError('slowCallsInFlight needs slowCallMs: the time after which a call is slow');
  if (inFlight) periodMs('slowCallMs', options.slowCallMs ?? 0);
  if (inFlight && (options.quorum ?? 1) > 1)
    throw new RangeError(
      'slowCallsInFlight does not combine with a quorum: each replica’s own breaker judges calls when they end',
    );
  return inFlight;
}

const isRateTrip = (trip: TripStrategy): trip is RateStrategy => trip instanceof RateStrategy;
