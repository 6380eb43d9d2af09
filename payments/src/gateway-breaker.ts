import type {
  BreakerSnapshot,
  SharedBreakerState,
  SharedCircuitBreaker,
} from '@cb-lab/shared-breaker';
import { noop, type IDefaultPolicyContext, type IPolicy } from 'cockatiel';

/** What payments asks of a gateway's breaker: a cockatiel policy it can describe and steer. */
export interface GatewayBreaker extends IPolicy {
  /** The breaker as this replica enforces it; `enabled: false` only for a {@link DisabledBreaker}. */
  snapshot(): BreakerSnapshot & { enabled?: false };
  /** Seconds until a refused call may be tried again, for `Retry-After`. */
  retryAfterSeconds(): number;
  /** The shared state as Redis holds it now; null for a breaker that takes no part in it. */
  readShared(): Promise<SharedBreakerState | null>;
  /** Isolates the cluster until a reset, or for `forMs`. */
  isolate(note?: string, forMs?: number): Promise<void>;
  reset(note?: string): Promise<void>;
  flush(): Promise<void>;
  dispose(): void;
}

/** Isolate or reset was asked of a breaker that is switched off. */
export class BreakerDisabledError extends Error {
  override readonly name = 'BreakerDisabledError';

  constructor() {
    super('this replica runs without its circuit breaker (BREAKER_ENABLED=false)');
  }
}

export const isBreakerDisabled = (error: unknown): error is BreakerDisabledError =>
  error instanceof BreakerDisabledError;

/**
 * The breaker switched off (`BREAKER_ENABLED=false`), as resilience4j's
 * DISABLED state: every call passes, nothing is counted, Redis is never
 * touched, no breaker series is exported. Its snapshot is the configured
 * breaker's, never started, so `/payments/circuit` keeps one shape.
 */
export class DisabledBreaker implements GatewayBreaker {
  declare readonly _altReturn: never;
  readonly onSuccess = noop.onSuccess;
  readonly onFailure = noop.onFailure;

  constructor(private readonly configured: SharedCircuitBreaker) {}

  execute<T>(
    fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T,
    signal?: AbortSignal,
  ): Promise<T> {
    return noop.execute(fn, signal);
  }

  snapshot(): BreakerSnapshot & { enabled: false } {
    return { ...this.configured.snapshot(), enabled: false };
  }

  retryAfterSeconds(): number {
    return 1;
  }

  readShared(): Promise<null> {
    return Promise.resolve(null);
  }

  isolate(): Promise<void> {
    return Promise.reject(new BreakerDisabledError());
  }

  reset(): Promise<void> {
    return Promise.reject(new BreakerDisabledError());
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {
    this.configured.dispose();
  }
}
