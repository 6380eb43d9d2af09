import type { TripSettings } from './breaker-store';

/** Open after `threshold` consecutive failures across the cluster (pybreaker's `fail_max`). */
export interface ConsecutiveFailures {
  mode: 'consecutive';
  threshold: number;
}

/**
 * Open when at least `threshold` (0 to 1) of the calls in the last
 * `windowMs` failed, once the window holds `minCalls` calls.
 */
export interface FailureRate {
  mode: 'rate';
  threshold: number;
  minCalls: number;
  windowMs: number;
  /** Resolution of the sliding window; defaults to a tenth of it. */
  buckets?: number;
}

export interface SharedCircuitBreakerOptions {
  /** Names the breaker; every replica using the same name shares one state. */
  name: string;
  /** Names this replica in snapshots; defaults to the host name. */
  replica?: string;
  /** Key prefix before the `{cb:NAME}` hash tag, to share a Redis between labs. */
  namespace?: string;
  trip: ConsecutiveFailures | FailureRate;
  /** How long the breaker stays open before one probe may run. */
  openMs: number;
  /** Each reopening after a failed probe multiplies the open period by `backoffFactor`, up to this. Defaults to `openMs` (no growth). */
  maxOpenMs?: number;
  backoffFactor?: number;
  /** A call that succeeds but takes longer than this counts as a failure (default: never). */
  slowCallMs?: number;
  /** Which errors count as failures; defaults to {@link isDependencyFailure}. */
  isFailure?: (error: unknown) => boolean;
  /**
   * How long the probe's holder keeps the lease. Must exceed the call's own
   * timeout: when it runs out without a report (the prober crashed), the next
   * caller probes instead.
   */
  probeLeaseMs?: number;
  /** While Redis cannot be reached: `local` runs cockatiel's in-process breaker, `reject` refuses every call. */
  whenStoreDown?: 'local' | 'reject';
  /** How often a degraded breaker asks Redis whether it is back. */
  storeRetryMs?: number;
  /** How often the shared state is read again, in case a pub/sub message was lost. */
  syncIntervalMs?: number;
  /** Rate mode: how long outcomes are gathered before one write. */
  flushIntervalMs?: number;
}

export interface ResolvedOptions extends Required<
  Omit<SharedCircuitBreakerOptions, 'trip' | 'namespace'>
> {
  namespace: string;
  tripSettings: TripSettings;
}

const positive = (name: string, value: number, integer = false): number => {
  if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
    throw new RangeError(
      `${name} must be a positive ${integer ? 'integer' : 'number'} (got ${value})`,
    );
  }
  return value;
};

/** Fills defaults and checks every setting, so a bad one fails at construction, not at the first outage. */
export function resolveOptions(
  options: SharedCircuitBreakerOptions,
  defaults: { replica: string; isFailure: (error: unknown) => boolean },
): ResolvedOptions {
  const { trip } = options;
  const openMs = positive('openMs', options.openMs, true);
  const maxOpenMs = positive('maxOpenMs', options.maxOpenMs ?? openMs, true);
  if (maxOpenMs < openMs)
    throw new RangeError(`maxOpenMs (${maxOpenMs}) must be at least openMs (${openMs})`);
  const backoffFactor = positive('backoffFactor', options.backoffFactor ?? 2);
  if (backoffFactor < 1)
    throw new RangeError(`backoffFactor must be at least 1 (got ${backoffFactor})`);

  let tripSettings: TripSettings;
  if (trip.mode === 'consecutive') {
    tripSettings = {
      mode: 'consecutive',
      threshold: positive('trip.threshold', trip.threshold, true),
      minCalls: 1,
      windowMs: 1,
      bucketMs: 1,
      openMs,
      maxOpenMs,
      backoffFactor,
    };
  } else {
    if (!(trip.threshold > 0 && trip.threshold <= 1))
      throw new RangeError(`trip.threshold must be a ratio in (0, 1] (got ${trip.threshold})`);
    const windowMs = positive('trip.windowMs', trip.windowMs, true);
    const buckets = positive('trip.buckets', trip.buckets ?? 10, true);
    tripSettings = {
      mode: 'rate',
      threshold: trip.threshold,
      minCalls: positive('trip.minCalls', trip.minCalls, true),
      windowMs,
      bucketMs: Math.max(1, Math.floor(windowMs / buckets)),
      openMs,
      maxOpenMs,
      backoffFactor,
    };
  }
  return {
    name: options.name,
    replica: options.replica ?? defaults.replica,
    namespace: options.namespace ?? '',
    openMs,
    maxOpenMs,
    backoffFactor,
    slowCallMs:
      options.slowCallMs === undefined ? Infinity : positive('slowCallMs', options.slowCallMs),
    isFailure: options.isFailure ?? defaults.isFailure,
    probeLeaseMs: positive('probeLeaseMs', options.probeLeaseMs ?? 10_000, true),
    whenStoreDown: options.whenStoreDown ?? 'local',
    storeRetryMs: positive('storeRetryMs', options.storeRetryMs ?? 1_000, true),
    syncIntervalMs: positive('syncIntervalMs', options.syncIntervalMs ?? 5_000, true),
    flushIntervalMs: positive('flushIntervalMs', options.flushIntervalMs ?? 100, true),
    tripSettings,
  };
}
