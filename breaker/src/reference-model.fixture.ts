import { openPeriodMs, type OpenSettings, type TripSettings } from './breaker-options';
import { rateReached } from './rate-strategy';
import type { BreakerStateName } from './breaker-state';
import type { Verdict } from './judged-call';

/** What the breaker does with a call that arrives. */
export type Admission = 'run' | 'probe' | 'rejected' | 'isolated';

/** A call the breaker let through, and the term it started in. */
export interface Admitted {
  admission: 'run' | 'probe';
  term: number;
}

/**
 * The breaker's rules, written as plainly as possible, for one caller whose
 * calls run one at a time on a clock the test moves. The local breaker and
 * the shared one (on real Redis) are checked against it, command by command.
 *
 * - closed: consecutive mode opens at `threshold` consecutive failures; rate
 *   mode decides, as each bucket ends, the window of buckets ending with it
 *   (at least `minCalls` calls, failures at least the threshold).
 * - open: rejected until the open period ends; then the next call probes
 *   (half-open), and every other call is rejected while it runs.
 * - a probe that fails reopens for a longer period; one that succeeds (or
 *   whose error does not count) closes and clears every count; one its
 *   caller cancelled leaves the breaker half-open for the next call to probe.
 * - isolated: rejected until reset; reset closes and clears every count.
 * - a call that ends after a transition (or an isolate or a reset) since it
 *   started does not count.
 */
export class BreakerModel {
  state: BreakerStateName = 'closed';
  failures = 0;
  openCount = 0;
  halfOpenAt = 0;
  /** Grows with every transition, isolate and reset. */
  term = 0;
  /** Half-open: whether the probe is running. */
  probing = false;
  readonly #window = new Map<number, { successes: number; failures: number }>();
  #decidedBucket = -Infinity;

  constructor(
    private readonly trip: TripSettings,
    private readonly open: OpenSettings,
  ) {}

  /** The state at time `now`, once every rate decision due by then is taken. */
  stateAt(now: number): BreakerStateName {
    this.#decide(now);
    return this.state;
  }

  admit(now: number): Admission {
    this.#decide(now);
    switch (this.state) {
      case 'isolated':
        return 'isolated';
      case 'half_open':
        if (this.probing) return 'rejected';
        this.probing = true;
        return 'probe';
      case 'open':
        if (now < this.halfOpenAt) return 'rejected';
        this.#move('half_open');
        this.probing = true;
        return 'probe';
      case 'closed':
        return 'run';
    }
  }

  /** A call admitted as `admission` in `term` ended at `now` with `verdict`. */
  finish({ admission, term }: Admitted, verdict: Verdict, now: number): void {
    if (term !== this.term) return;
    if (admission === 'probe') {
      this.probing = false;
      if (verdict === 'failure') this.#open(now);
      else if (verdict !== 'cancelled') this.#close();
      return;
    }
    if (verdict === 'neutral' || verdict === 'cancelled') return;
    if (this.trip.mode === 'consecutive') {
      this.failures = verdict === 'failure' ? this.failures + 1 : 0;
      if (this.failures >= this.trip.threshold) this.#open(now);
      return;
    }
    const bucket = Math.floor(now / this.trip.bucketMs);
    const counts = this.#window.get(bucket) ?? { successes: 0, failures: 0 };
    if (verdict === 'failure') counts.failures += 1;
    else counts.successes += 1;
    this.#window.set(bucket, counts);
  }

  isolate(): void {
    if (this.state !== 'isolated') this.#move('isolated');
  }

  reset(): void {
    this.#close();
    this.term += 1;
  }

  #decide(now: number): void {
    const trip = this.trip;
    if (trip.mode !== 'rate' || this.state !== 'closed') return;
    const lastEnded = Math.floor(now / trip.bucketMs) - 1;
    const first = Math.max(this.#decidedBucket + 1, lastEnded - trip.buckets + 1);
    for (let bucket = first; bucket <= lastEnded; bucket += 1) {
      let calls = 0;
      let failed = 0;
      for (const [b, counts] of this.#window) {
        if (b > bucket - trip.buckets && b <= bucket) {
          calls += counts.successes + counts.failures;
          failed += counts.failures;
        }
      }
      this.#decidedBucket = bucket;
      this.failures = failed;
      if (calls >= trip.minCalls && rateReached(failed, calls, trip.thresholdPpm)) {
        this.#open(now);
        return;
      }
    }
  }

  #open(now: number): void {
    this.openCount += 1;
    this.halfOpenAt = now + openPeriodMs(this.open, this.openCount);
    this.#window.clear();
    this.#move('open');
  }

  #close(): void {
    if (this.state !== 'closed') this.#move('closed');
    this.failures = 0;
    this.openCount = 0;
    this.halfOpenAt = 0;
    this.#window.clear();
  }

  #move(to: BreakerStateName): void {
    this.state = to;
    this.term += 1;
    this.probing = false;
  }
}
