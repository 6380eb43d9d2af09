import {
  CircuitState,
  ConsecutiveBreaker,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  timeout,
  wrap,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import { isGatewayUnavailable } from './gateway-client';

export type CircuitStateName = 'closed' | 'open' | 'half_open' | 'isolated';

/** What `GET /payments/circuit` shows. */
export interface CircuitSnapshot {
  breaker: string;
  state: CircuitStateName;
  /** Consecutive failures counted towards the threshold. */
  failures: number;
  /** The replica that answered. */
  replica: string;
  /** Where the breaker's state lives: shared in Redis, or this process only. */
  store: 'redis' | 'local';
}

/**
 * The seam between payments and whatever breaker guards the gateway. Callers
 * hand it the gateway call; it decides whether the call runs, times it out,
 * and throws cockatiel's `BrokenCircuitError` family when it refuses.
 */
export interface GatewayBreaker {
  execute<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T>;
  snapshot(): CircuitSnapshot;
  /** Whole seconds a rejected caller should wait before trying again. */
  retryAfterSeconds(): number;
}

/** Gateway outages and our own timeouts trip the breaker; declines and 4xx never do. */
export const countsAsGatewayFailure = (error: unknown): boolean =>
  isGatewayUnavailable(error) || error instanceof TaskCancelledError;

const STATE_NAMES: Record<CircuitState, CircuitStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'isolated',
};

export interface BreakerSettings {
  name: string;
  replica: string;
  failureThreshold: number;
  openMs: number;
  callTimeoutMs: number;
}

/**
 * An in-process cockatiel breaker behind the seam: each replica decides on
 * its own. The shared Redis-backed breaker takes its place behind the same
 * interface.
 */
export class LocalGatewayBreaker implements GatewayBreaker {
  readonly #breaker: CircuitBreakerPolicy;
  readonly #policy;
  #consecutiveFailures = 0;

  constructor(private readonly settings: BreakerSettings) {
    this.#breaker = circuitBreaker(handleWhen(countsAsGatewayFailure), {
      halfOpenAfter: settings.openMs,
      breaker: new ConsecutiveBreaker(settings.failureThreshold),
    });
    this.#breaker.onFailure(({ handled }) => {
      if (handled) this.#consecutiveFailures += 1;
    });
    this.#breaker.onSuccess(() => {
      this.#consecutiveFailures = 0;
    });
    this.#policy = wrap(this.#breaker, timeout(settings.callTimeoutMs, TimeoutStrategy.Aggressive));
  }

  execute<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.#policy.execute(({ signal }) => call(signal));
  }

  snapshot(): CircuitSnapshot {
    return {
      breaker: this.settings.name,
      state: STATE_NAMES[this.#breaker.state],
      failures: this.#consecutiveFailures,
      replica: this.settings.replica,
      store: 'local',
    };
  }

  retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.settings.openMs / 1000));
  }
}
