import { BrokenCircuitError, EventEmitter, IsolatedCircuitError } from 'cockatiel';
import { openPeriodMs, type OpenSettings } from './breaker-options';
import type { BreakerStateName } from './breaker-state';
import {
  runJudged,
  unwrap,
  type BreakerContext,
  type CallJudge,
  type CallOutcome,
  type JudgedCall,
  type Verdict,
} from './judged-call';
import type { TransitionReason } from './transition-reason';
import type { TripCounter, TripStrategy } from './trip-strategy';

export interface LocalBreakerOptions extends CallJudge {
  trip: TripStrategy;
  open: OpenSettings;
  /** The clock (ms); the shared breaker gives its estimate of Redis time, so times carry over. */
  now: () => number;
}

/** Where a local breaker starts: the last shared state its replica knew. */
export interface LocalStart {
  state: BreakerStateName;
  /** When it last opened (0: not open); only shown, never decides. */
  openedAt?: number;
  halfOpenAt: number;
  openCount: number;
  failures: number;
  /** Isolated for a time: when the isolation ends by itself (0: until a reset). */
  isolatedUntil?: number;
}

export interface LocalTransition {
  from: BreakerStateName;
  to: BreakerStateName;
  reason: TransitionReason;
}

/**
 * An in-process circuit breaker with exactly the shared breaker's rules: what
 * a replica runs while Redis cannot be reached, and a reference for them.
 *
 * - closed: the trip strategy's counter decides when it opens (consecutive
 *   failures, or the rate of a window decided as each bucket ends);
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
  readonly #counter: TripCounter;
  #openCount: number;
  #openedAt: number;
  #halfOpenAt: number;
  #isolatedUntil: number;
  /** Half-open: whether the probe is running (else the next call probes). */
  #probing = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: LocalBreakerOptions,
    start: LocalStart = { state: 'closed', openedAt: 0, halfOpenAt: 0, openCount: 0, failures: 0 },
  ) {
    // A half-open shared state means a probe elsewhere whose outcome this replica will not
    // learn: here, the next call probes.
    this.#state = start.state;
    this.#openedAt = start.openedAt ?? 0;
    this.#halfOpenAt = start.halfOpenAt;
    this.#openCount = start.openCount;
    this.#isolatedUntil = start.isolatedUntil ?? 0;
    this.#counter = options.trip.createCounter(
      options.now,
      start.state === 'closed' ? start.failures : 0,
    );
  }

  get state(): BreakerStateName {
    this.#decide();
    return this.#state;
  }

  /** Consecutive failures, or failures in the last decided window. */
  get failures(): number {
    this.#decide();
    return this.#counter.failures;
  }

  /** Calls in the last decided window (0 when the strategy has none). */
  get calls(): number {
    return this.#counter.calls;
  }

  get openCount(): number {
    return this.#openCount;
  }

  /** When it last opened (0 while it has not opened since it last closed). */
  get openedAt(): number {
    return this.#openedAt;
  }

  get halfOpenAt(): number {
    return this.#halfOpenAt;
  }

  /** While isolated for a time: when it ends (0: until a reset). */
  get isolatedUntil(): number {
    return this.#isolatedUntil;
  }

  /**
   * Runs `fn` unless the breaker rejects it; `report` hears how it went
   * (with the judged call, for a call that ran). Rejections throw cockatiel's
   * `BrokenCircuitError` (`IsolatedCircuitError` when isolated).
   */
  async execute<T>(
    fn: (context: BreakerContext) => PromiseLike<T> | T,
    signal: AbortSignal,
    report: (outcome: CallOutcome, durationMs: number, call?: JudgedCall<T>) => void,
  ): Promise<T> {
    this.#decide();
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
    const call = await runJudged(fn, signal, probe, this.options);
    const { result, durationMs, verdict } = call;
    // A call started before the last transition (or an isolate or reset) does not count.
    if (term === this.#term) {
      if (probe) this.#probed(verdict);
      else this.#count(verdict);
    }
    report(verdict === 'failure' ? 'failure' : 'success', durationMs, call);
    return unwrap(result);
  }

  /** Holds the breaker open until {@link LocalBreaker.reset}. */
  isolate(): void {
    this.#isolatedUntil = 0;
    if (this.#state !== 'isolated') this.#move('isolated', 'isolated by an operator');
  }

  /** Closes the breaker and clears every count; calls started before do not count. */
  reset(): void {
    this.#close();
    this.#term += 1;
    if (this.#state !== 'closed') this.#move('closed', 'reset by an operator');
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #count(verdict: Verdict): void {
    if (this.#state !== 'closed' || verdict === 'neutral' || verdict === 'cancelled') return;
    const reason = this.#counter.record(verdict === 'failure');
    if (reason) this.#open(reason);
    else this.#scheduleDecision();
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

  /** Lets the counter decide what time alone decides (windows that ended), and ends an isolation whose time is up. */
  #decide(): void {
    if (
      this.#state === 'isolated' &&
      this.#isolatedUntil > 0 &&
      this.options.now() >= this.#isolatedUntil
    ) {
      this.#close();
      this.#move('closed', 'isolation expired');
      return;
    }
    if (this.#state !== 'closed') return;
    const reason = this.#counter.decide();
    if (reason) this.#open(reason);
  }

  /** Decides when the counter says time may decide, so the state changes without traffic too. */
  #scheduleDecision(): void {
    if (this.#timer !== undefined) return;
    const at = this.#counter.nextDecisionAt();
    if (at === undefined) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        this.#decide();
        if (this.#state === 'closed') this.#scheduleDecision();
      },
      Math.max(0, at - this.options.now()) + 1,
    ).unref();
  }

  #open(reason: TransitionReason): void {
    this.#openCount += 1;
    this.#openedAt = this.options.now();
    this.#halfOpenAt = this.#openedAt + openPeriodMs(this.options.open, this.#openCount);
    this.#counter.opened();
    this.#move('open', reason);
  }

  #close(): void {
    this.#isolatedUntil = 0;
    this.#counter.cleared();
    this.#openCount = 0;
    this.#openedAt = 0;
    this.#halfOpenAt = 0;
  }

  #move(to: BreakerStateName, reason: TransitionReason): void {
    const from = this.#state;
    this.#state = to;
    this.#term += 1;
    this.#probing = false;
    this.#transitions.emit({ from, to, reason });
  }
}
