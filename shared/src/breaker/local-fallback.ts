import {
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  handleWhen,
  isBrokenCircuitError,
  SamplingBreaker,
  type CircuitBreakerPolicy,
  type IDefaultPolicyContext,
  type IDisposable,
} from 'cockatiel';
import type { BreakerStateName, SharedBreakerState } from './breaker-state';
import type { TripSettings } from './breaker-store';

const STATE_NAMES: Record<CircuitState, BreakerStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'isolated',
};

/** Carries a slow call's value out of cockatiel, which only counts thrown errors as failures. */
class SlowCall extends Error {
  constructor(readonly value: unknown) {
    super('the call succeeded but was slower than the slow-call threshold');
  }
}

export type CallOutcome = 'success' | 'failure' | 'rejected';

export interface LocalFallbackOptions {
  trip: TripSettings;
  isFailure: (error: unknown) => boolean;
  slowCallMs: number;
}

/**
 * What a replica runs while Redis cannot be reached: cockatiel's own
 * in-process breaker with the same settings. It starts from the last shared
 * state this replica knew: isolated stays isolated, open stays open until
 * the shared open period ends, so losing Redis does not reopen the gates.
 */
export class LocalFallback {
  readonly policy: CircuitBreakerPolicy;
  /** An operator isolated the breaker cluster-wide; every other isolation here stands for an open period. */
  readonly #isolatedByOperator: boolean;
  readonly #hold: IDisposable | undefined;
  readonly #releaseTimer: NodeJS.Timeout | undefined;
  #consecutiveFailures = 0;

  constructor(
    private readonly options: LocalFallbackOptions,
    lastKnown: SharedBreakerState,
    redisNow: number,
  ) {
    const { trip } = options;
    this.policy = circuitBreaker(
      handleWhen((error) => error instanceof SlowCall || options.isFailure(error)),
      {
        halfOpenAfter: trip.openMs,
        breaker:
          trip.mode === 'consecutive'
            ? new ConsecutiveBreaker(trip.threshold)
            : new SamplingBreaker({
                threshold: trip.threshold,
                duration: trip.windowMs,
                minimumRps: (trip.minCalls * 1_000) / trip.windowMs,
              }),
      },
    );
    this.#isolatedByOperator = lastKnown.state === 'isolated';
    const remainingOpenMs = lastKnown.halfOpenAt - redisNow;
    const stillOpen =
      (lastKnown.state === 'open' || lastKnown.state === 'half_open') && remainingOpenMs > 0;
    if (this.#isolatedByOperator || stillOpen) this.#hold = this.policy.isolate();
    if (stillOpen) {
      this.#releaseTimer = setTimeout(() => {
        this.#hold?.dispose();
      }, remainingOpenMs).unref();
    }
  }

  get state(): BreakerStateName {
    const state = STATE_NAMES[this.policy.state];
    return state === 'isolated' && !this.#isolatedByOperator ? 'open' : state;
  }

  get failures(): number {
    return this.#consecutiveFailures;
  }

  /** Runs `fn` through the local breaker and reports what happened to `onOutcome`. */
  async execute<T>(
    fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T,
    context: IDefaultPolicyContext,
    onOutcome: (outcome: CallOutcome, durationMs: number) => void,
  ): Promise<T> {
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    try {
      const value = await this.policy.execute(async (inner) => {
        const result = await fn(inner);
        if (elapsed() > this.options.slowCallMs) throw new SlowCall(result);
        return result;
      }, context.signal);
      this.#consecutiveFailures = 0;
      onOutcome('success', elapsed());
      return value;
    } catch (error) {
      if (error instanceof SlowCall) {
        this.#consecutiveFailures += 1;
        onOutcome('failure', elapsed());
        return error.value as T;
      }
      if (isBrokenCircuitError(error)) {
        onOutcome('rejected', elapsed());
      } else if (this.options.isFailure(error)) {
        this.#consecutiveFailures += 1;
        onOutcome('failure', elapsed());
      } else {
        onOutcome('success', elapsed());
      }
      throw error;
    }
  }

  dispose(): void {
    clearTimeout(this.#releaseTimer);
    this.#hold?.dispose();
  }
}
