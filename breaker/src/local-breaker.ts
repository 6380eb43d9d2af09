import { BrokenCircuitError, EventEmitter, IsolatedCircuitError } from 'cockatiel';
import {
  openPeriodMs,
  rateReached,
  type OpenSettings,
  type RateTrip,
  type TripSettings,
} from './breaker-options';
import type { BreakerStateName } from './breaker-state';
import {
  runJudged,
  unwrap,
  type BreakerContext,
  type CallJudge,
  type CallOutcome,
  type Verdict,
} from './judged-call';

export interface LocalBreakerOptions extends CallJudge {
  trip: TripSettings;
  open: OpenSettings;
  /** The clock (ms); the shared breaker gives its estimate of Redis time, so times carry over. */
  now: () => number;
}

/** Where a local breaker starts: the last shared state its replica knew. */
export interface LocalStart {
  state: BreakerStateName;
  halfOpenAt: number;
  openCount: number;
  failures: number;
}

export interface LocalTransition {
  from: BreakerStateName;
  to: BreakerStateName;
  reason: string;
}

/**
 * An in-process circuit breaker with exactly the shared breaker's rules: what
 * a replica runs while Redis cannot be reached, and a reference for them.
 *
 * - consecutive: `threshold` consecutive failures open it;
 * - rate: the window slides by buckets, and as each bucket ends the window
 *   ending with it is decided: at least `minCalls` calls, and failures at
 *   least the threshold (compared on integers);
 * - open: rejected with `BrokenCircuitError` until the open period ends; then
 *   the next call probes (half-open) while every other is rejected; success
 *   closes it, failure reopens it for a longer period, a probe its caller
 *   cancelled leaves it half-open for the next call to probe;
 * - isolated (an operator's decision): rejected with `IsolatedCircuitError`.
 *
 * Outcomes of calls that started before the last transition do not count.
 */
export class LocalBreaker {
  readonly #transitions = new EventEmitter<LocalTransition>();
  /** Every change of state, with its reason. */
  readonly onTransition = this.#transitions.addListener;

  #state: BreakerStateName;
  /** Increments on every transition: outcomes of calls started in another term are dropped. */
  #term = 0;
  #failures: number;
  #openCount: number;
  #halfOpenAt: number;
  /** Half-open: whether the probe is running (else the next call probes). */
  #probing = false;
  /** Rate mode: outcomes per bucket, and the last bucket whose window was decided. */
  readonly #window = new Map<number, { successes: number; failures: number }>();
  #decidedBucket = -1;
  #windowCalls = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: LocalBreakerOptions,
    start: LocalStart = { state: 'closed', halfOpenAt: 0, openCount: 0, failures: 0 },
  ) {
    // A half-open shared state means a probe elsewhere whose outcome this replica will not
    // learn: here, the next call probes.
    this.#state = start.state;
    this.#halfOpenAt = start.halfOpenAt;
    this.#openCount = start.openCount;
    this.#failures =
      start.state === 'closed' && options.trip.mode === 'consecutive' ? start.failures : 0;
  }

  get state(): BreakerStateName {
    this.#decideRate();
    return this.#state;
  }

  /** Consecutive failures, or failures in the last decided window (rate mode). */
  get failures(): number {
    this.#decideRate();
    return this.#failures;
  }

  /** Calls in the last decided window (rate mode). */
  get calls(): number {
    return this.#windowCalls;
  }

  get openCount(): number {
    return this.#openCount;
  }

  get halfOpenAt(): number {
    return this.#halfOpenAt;
  }

  /**
   * Runs `fn` unless the breaker rejects it; `report` hears how it went.
   * Rejections throw cockatiel's `BrokenCircuitError` (`IsolatedCircuitError`
   * when isolated).
   */
  async execute<T>(
    fn: (context: BreakerContext) => PromiseLike<T> | T,
    signal: AbortSignal,
    report: (outcome: CallOutcome, durationMs: number) => void,
  ): Promise<T> {
    this.#decideRate();
    let probe = false;
    switch (this.#state) {
      case 'isolated':
        report('rejected', 0);
        throw new IsolatedCircuitError();
      case 'half_open':
        if (this.#probing) {
          report('rejected', 0);
          throw new BrokenCircuitError();
        }
        probe = true;
        this.#probing = true;
        break;
      case 'open':
        if (this.options.now() < this.#halfOpenAt) {
          report('rejected', 0);
          throw new BrokenCircuitError();
        }
        probe = true;
        this.#move('half_open', 'open period over');
        this.#probing = true;
        break;
      case 'closed':
        break;
    }
    const term = this.#term;
    const { result, durationMs, verdict } = await runJudged(fn, signal, probe, this.options);
    // A call started before the last transition (or an isolate or reset) does not count.
    if (term === this.#term) {
      if (probe) this.#probed(verdict);
      else this.#count(verdict);
    }
    report(verdict === 'failure' ? 'failure' : 'success', durationMs);
    return unwrap(result);
  }

  /** Holds the breaker open until {@link LocalBreaker.reset}. */
  isolate(reason = 'isolated'): void {
    if (this.#state !== 'isolated') this.#move('isolated', reason);
  }

  /** Closes the breaker and clears every count; calls started before do not count. */
  reset(reason = 'reset'): void {
    this.#close();
    this.#term += 1;
    if (this.#state !== 'closed') this.#move('closed', reason);
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #count(verdict: Verdict): void {
    if (this.#state !== 'closed' || verdict === 'neutral' || verdict === 'cancelled') return;
    const { trip } = this.options;
    if (trip.mode === 'consecutive') {
      if (verdict === 'success') {
        this.#failures = 0;
        return;
      }
      this.#failures += 1;
      if (this.#failures >= trip.threshold) this.#open('failure threshold reached');
      return;
    }
    const bucket = Math.floor(this.options.now() / trip.bucketMs);
    const counts = this.#window.get(bucket) ?? { successes: 0, failures: 0 };
    if (verdict === 'success') counts.successes += 1;
    else counts.failures += 1;
    this.#window.set(bucket, counts);
    this.#scheduleDecision(trip);
  }

  #probed(verdict: Verdict): void {
    this.#probing = false;
    if (verdict === 'failure') {
      this.#open('probe failure');
    } else if (verdict === 'cancelled') {
      // The probe's caller gave up: no verdict, the next call probes.
    } else {
      this.#close();
      this.#move('closed', 'probe success');
    }
  }

  /** Rate mode: decides the window ending with every bucket that has ended since the last decision. */
  #decideRate(): void {
    const { trip } = this.options;
    if (trip.mode !== 'rate' || this.#state !== 'closed') return;
    const lastEnded = Math.floor(this.options.now() / trip.bucketMs) - 1;
    if (lastEnded <= this.#decidedBucket) return;
    if (this.#window.size === 0) {
      this.#decidedBucket = lastEnded;
      this.#windowCalls = 0;
      this.#failures = 0;
      return;
    }
    const first = Math.max(this.#decidedBucket + 1, lastEnded - trip.buckets + 1);
    for (let bucket = first; bucket <= lastEnded; bucket += 1) {
      let calls = 0;
      let failed = 0;
      for (let b = bucket - trip.buckets + 1; b <= bucket; b += 1) {
        const counts = this.#window.get(b);
        if (!counts) continue;
        calls += counts.successes + counts.failures;
        failed += counts.failures;
      }
      this.#decidedBucket = bucket;
      this.#windowCalls = calls;
      this.#failures = failed;
      if (calls >= trip.minCalls && rateReached(failed, calls, trip.thresholdPpm)) {
        this.#open('failure rate reached');
        return;
      }
    }
    for (const bucket of this.#window.keys()) {
      if (bucket <= lastEnded - trip.buckets + 1) this.#window.delete(bucket);
    }
  }

  /** Rate mode: decides when the current bucket ends, so the state changes without traffic too. */
  #scheduleDecision(trip: RateTrip): void {
    if (this.#timer !== undefined) return;
    const now = this.options.now();
    const endOfBucket = (Math.floor(now / trip.bucketMs) + 1) * trip.bucketMs;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#decideRate();
        if (this.#window.size > 0 && this.#state === 'closed') this.#scheduleDecision(trip);
      },
      Math.max(0, endOfBucket - now) + 1,
    ).unref();
  }

  #open(reason: string): void {
    this.#openCount += 1;
    this.#halfOpenAt = this.options.now() + openPeriodMs(this.options.open, this.#openCount);
    this.#window.clear();
    this.#move('open', reason);
  }

  #close(): void {
    this.#failures = 0;
    this.#windowCalls = 0;
    this.#openCount = 0;
    this.#halfOpenAt = 0;
    this.#window.clear();
  }

  #move(to: BreakerStateName, reason: string): void {
    const from = this.#state;
    this.#state = to;
    this.#term += 1;
    this.#probing = false;
    this.#transitions.emit({ from, to, reason });
  }
}
