import type { RateTrip } from './breaker-options';
import { periodMs, positive } from './checks';
import { RateReporter } from './rate-reporter';
import type { TransitionReason } from './transition-reason';
import type { TripCounter, TripReporting, TripStrategy } from './trip-strategy';

/** Whether `failed` of `calls` meets a rate threshold given in millionths (exact, on integers). */
export const rateReached = (failed: number, calls: number, thresholdPpm: number): boolean =>
  failed * 1_000_000 >= thresholdPpm * calls;

/**
 * Opens when at least the threshold of the calls in the sliding window
 * failed, once the window holds `minCalls` calls. The window slides by
 * buckets of the store's clock, and is decided as each bucket ends.
 */
export class RateStrategy implements TripStrategy {
  readonly mode = 'rate';

  /** Checks the settings as the store will use them: integers only. */
  constructor(readonly settings: RateTrip) {
    const ppm = positive('trip.thresholdPpm', settings.thresholdPpm, true);
    if (ppm > 1_000_000)
      throw new RangeError(`trip.thresholdPpm must be at most 1000000 (got ${ppm})`);
    positive('trip.minCalls', settings.minCalls, true);
    periodMs('trip.bucketMs', settings.bucketMs);
    const buckets = positive('trip.buckets', settings.buckets, true);
    if (buckets > 100) throw new RangeError(`trip.buckets must be at most 100 (got ${buckets})`);
  }

  createReporter(reporting: TripReporting): RateReporter {
    const { store, keys, open, flushIntervalMs, vote } = reporting;
    const budget = store.operationTimeoutMs;
    // By then every replica has sent, and the store has run, what happened in a bucket: the
    // flush or a write in flight, the write on its way, and the replica's clock error (at
    // most half a round trip, within a budget).
    const settleMs = Math.max(flushIntervalMs, budget) + 2 * budget;
    return new RateReporter(
      (term, buckets) =>
        reporting.write(() =>
          store.recordRate(keys, term, buckets, this.settings, settleMs, open, vote?.()),
        ),
      this.settings,
      flushIntervalMs,
      reporting.clock,
    );
  }

  createCounter(now: () => number): TripCounter {
    return new RateCounter(this.settings, now);
  }
}

class RateCounter implements TripCounter {
  failures = 0;
  calls = 0;
  /** Outcomes per bucket, and the last bucket whose window was decided. */
  readonly #window = new Map<number, { successes: number; failures: number }>();
  #decidedBucket = -1;

  constructor(
    private readonly trip: RateTrip,
    private readonly now: () => number,
  ) {}

  record(failed: boolean): undefined {
    const bucket = Math.floor(this.now() / this.trip.bucketMs);
    const counts = this.#window.get(bucket) ?? { successes: 0, failures: 0 };
    if (failed) counts.failures += 1;
    else counts.successes += 1;
    this.#window.set(bucket, counts);
    // Decided as its bucket ends.
    return undefined;
  }

  /** Decides the window ending with every bucket that has ended since the last decision. */
  decide(): TransitionReason | undefined {
    const { bucketMs, buckets, minCalls, thresholdPpm } = this.trip;
    const lastEnded = Math.floor(this.now() / bucketMs) - 1;
    if (lastEnded <= this.#decidedBucket) return undefined;
    if (this.#window.size === 0) {
      this.#decidedBucket = lastEnded;
      this.calls = 0;
      this.failures = 0;
      return undefined;
    }
    const first = Math.max(this.#decidedBucket + 1, lastEnded - buckets + 1);
    for (let bucket = first; bucket <= lastEnded; bucket += 1) {
      let calls = 0;
      let failed = 0;
      for (let b = bucket - buckets + 1; b <= bucket; b += 1) {
        const counts = this.#window.get(b);
        if (!counts) continue;
        calls += counts.successes + counts.failures;
        failed += counts.failures;
      }
      this.#decidedBucket = bucket;
      this.calls = calls;
      this.failures = failed;
      if (calls >= minCalls && rateReached(failed, calls, thresholdPpm))
        return 'failure rate reached';
    }
    for (const bucket of this.#window.keys()) {
      if (bucket <= lastEnded - buckets + 1) this.#window.delete(bucket);
    }
    return undefined;
  }

  nextDecisionAt(): number | undefined {
    if (this.#window.size === 0) return undefined;
    return (Math.floor(this.now() / this.trip.bucketMs) + 1) * this.trip.bucketMs;
  }

  opened(): void {
    this.#window.clear();
  }

  cleared(): void {
    this.failures = 0;
    this.calls = 0;
    this.#window.clear();
  }
}
