import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  BrokenCircuitError,
  EventEmitter,
  IsolatedCircuitError,
  type IDefaultPolicyContext,
  type IFailureEvent,
  type IPolicy,
  type ISuccessEvent,
} from 'cockatiel';
import { breakerKeys, type BreakerKeys } from './breaker-keys';
import {
  resolveOptions,
  type ResolvedOptions,
  type SharedCircuitBreakerOptions,
} from './breaker-options';
import {
  INITIAL_STATE,
  isNewer,
  type BreakerStateName,
  type ScriptReply,
  type SharedBreakerState,
} from './breaker-state';
import type { RedisBreakerStore } from './breaker-store';
import { isDependencyFailure } from './failure-classifier';
import { LocalFallback, type CallOutcome } from './local-fallback';
import { OutcomeReporter } from './outcome-reporter';
import { RedisClock } from './redis-clock';

export interface BreakerTransition {
  from: BreakerStateName;
  to: BreakerStateName;
  /** What caused it: `failure threshold reached`, `probe success`, `store unavailable`, an operator's words… */
  reason: string;
}

/** `probe` is the single half-open call, whatever its result. */
export type BreakerCallOutcome = CallOutcome | 'probe';

export interface BreakerCall {
  outcome: BreakerCallOutcome;
  durationMs: number;
}

export interface StoreChange {
  up: boolean;
  error?: unknown;
}

/** What one replica knows and enforces, for `/payments/circuit` and the lab's status command. */
export interface BreakerSnapshot {
  breaker: string;
  /** The state this replica enforces right now. */
  state: BreakerStateName;
  failures: number;
  replica: string;
  /** `redis` while the shared state is in use; `local` while this replica runs its in-process fallback. */
  store: 'redis' | 'local';
  mode: 'consecutive' | 'rate';
  openedAt: string | null;
  /** When the current open period ends and one probe may run. */
  halfOpenAt: string | null;
  openCount: number;
  /** The configured open period (before any growth after failed probes). */
  openMs: number;
  /** The local view: the shared state as this replica last learned it (Redis time). */
  localView: SharedBreakerState;
  /** This replica's estimate of (Redis clock − local clock). */
  clockOffsetMs: number;
}

const NEVER_ABORTED = new AbortController().signal;

const isoOrNull = (ms: number): string | null => (ms > 0 ? new Date(ms).toISOString() : null);

/**
 * A circuit breaker whose state is shared by every replica through Redis.
 *
 * - Decisions on the hot path are local: while closed, a successful call
 *   costs no Redis round trip; while open, rejections cost none either.
 * - Every transition is one Lua script run atomically in Redis, on Redis's
 *   clock, and announced on pub/sub so each replica's local view follows
 *   within a round trip.
 * - After the open period exactly one call in the cluster probes, holding a
 *   lease with an owner token and a TTL.
 * - When Redis is slow or gone, store operations fail within their time
 *   budget and the breaker carries on with cockatiel's in-process breaker
 *   (or rejects, if so configured) until Redis answers again.
 *
 * It is a cockatiel policy: it composes with `wrap`, `timeout`, `retry` and
 * `fallback`, and refuses calls with `BrokenCircuitError` /
 * `IsolatedCircuitError`. Call {@link start} before use and
 * {@link dispose} at shutdown. See DESIGN.md beside this file.
 */
export class SharedCircuitBreaker implements IPolicy {
  declare readonly _altReturn: never;
  readonly name: string;
  readonly keys: BreakerKeys;
  readonly options: ResolvedOptions;

  readonly #successEmitter = new EventEmitter<ISuccessEvent>();
  readonly #failureEmitter = new EventEmitter<IFailureEvent>();
  readonly #transitionEmitter = new EventEmitter<BreakerTransition>();
  readonly #stateEmitter = new EventEmitter<BreakerStateName>();
  readonly #breakEmitter = new EventEmitter<BreakerTransition>();
  readonly #resetEmitter = new EventEmitter<undefined>();
  readonly #halfOpenEmitter = new EventEmitter<undefined>();
  readonly #callEmitter = new EventEmitter<BreakerCall>();
  readonly #storeEmitter = new EventEmitter<StoreChange>();

  /** IPolicy: a call the breaker let through succeeded. */
  readonly onSuccess = this.#successEmitter.addListener;
  /** IPolicy: a call failed; `handled` says whether it counted against the breaker. */
  readonly onFailure = this.#failureEmitter.addListener;
  /** Every change of the state this replica enforces, with where it came from and why. */
  readonly onTransition = this.#transitionEmitter.addListener;
  readonly onStateChange = this.#stateEmitter.addListener;
  /** The breaker opened (or was isolated). */
  readonly onBreak = this.#breakEmitter.addListener;
  /** The breaker closed again. */
  readonly onReset = this.#resetEmitter.addListener;
  readonly onHalfOpen = this.#halfOpenEmitter.addListener;
  /** Every call: its outcome and duration (for metrics). */
  readonly onCall = this.#callEmitter.addListener;
  /** The shared store was lost or came back. */
  readonly onStoreChange = this.#storeEmitter.addListener;

  readonly #clock = new RedisClock();
  readonly #reporter: OutcomeReporter;
  #view: SharedBreakerState = INITIAL_STATE;
  #effective: BreakerStateName = 'closed';
  /** False until the first read succeeds, and whenever a store operation fails. */
  #storeUp = false;
  #fallback: LocalFallback | undefined;
  #acquiringProbe = false;
  #syncTimer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #disposed = false;

  constructor(
    private readonly store: RedisBreakerStore,
    options: SharedCircuitBreakerOptions,
  ) {
    this.options = resolveOptions(options, { replica: hostname(), isFailure: isDependencyFailure });
    this.name = options.name;
    this.keys = breakerKeys(options.name, this.options.namespace);
    this.#reporter = new OutcomeReporter({
      mode: this.options.tripSettings.mode,
      flushIntervalMs: this.options.flushIntervalMs,
      send: (epoch, successes, failures) => this.#sendOutcomes(epoch, successes, failures),
    });
    this.#fallback = this.#newFallback();
  }

  /** The state this replica enforces now. */
  get state(): BreakerStateName {
    return this.#effective;
  }

  /** Whether the shared state in Redis is in use (false while degraded). */
  get storeUp(): boolean {
    return this.#storeUp;
  }

  /**
   * Subscribes to the breaker's channel and reads the shared state, so a new
   * replica joins whatever state the cluster is in. If Redis cannot be
   * reached the breaker starts degraded and keeps trying.
   */
  async start(): Promise<this> {
    if (this.#unsubscribe) return this;
    const { subscribed, unsubscribe } = this.store.subscribe(this.keys.channel, (message) => {
      this.#adopt(message.state, message.reason ?? 'announced');
    });
    this.#unsubscribe = unsubscribe;
    await Promise.race([Promise.all([subscribed, this.store.ready()]), delay(2_000)]).catch(
      () => undefined,
    );
    await this.#sync();
    return this;
  }

  async execute<T>(
    fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T,
    signal: AbortSignal = NEVER_ABORTED,
  ): Promise<T> {
    const context: IDefaultPolicyContext = { signal };
    if (!this.#storeUp) return this.#executeDegraded(fn, context);
    const view = this.#view;
    switch (view.state) {
      case 'closed':
        return this.#executeClosed(fn, context, view.epoch);
      case 'isolated':
        throw this.#rejected(new IsolatedCircuitError());
      case 'open':
        if (this.#clock.now() < view.halfOpenAt) throw this.#rejected(new BrokenCircuitError());
        return this.#probe(fn, context);
      case 'half_open':
        if (this.#clock.now() < view.probeLeaseUntil)
          throw this.#rejected(new BrokenCircuitError());
        return this.#probe(fn, context);
    }
  }

  /** Holds the breaker open on every replica until {@link reset}. Fails if Redis cannot be reached. */
  async isolate(reason = 'isolated by an operator'): Promise<void> {
    await this.#guardedStoreCall(() => this.store.force(this.keys, 'isolated', reason));
  }

  /** Closes the breaker on every replica and clears every count. Fails if Redis cannot be reached. */
  async reset(reason = 'reset by an operator'): Promise<void> {
    await this.#guardedStoreCall(() => this.store.force(this.keys, 'closed', reason));
  }

  /** The shared state as Redis holds it now (one read, within the store's time budget). */
  async readShared(): Promise<SharedBreakerState> {
    return (await this.#guardedStoreCall(() => this.store.read(this.keys))).state;
  }

  snapshot(): BreakerSnapshot {
    const view = this.#view;
    return {
      breaker: this.name,
      state: this.#effective,
      failures: !this.#storeUp && this.#fallback ? this.#fallback.failures : view.failures,
      replica: this.options.replica,
      store: this.#storeUp ? 'redis' : 'local',
      mode: this.options.tripSettings.mode,
      openedAt: isoOrNull(view.openedAt),
      halfOpenAt: isoOrNull(view.halfOpenAt),
      openCount: view.openCount,
      openMs: this.options.openMs,
      localView: { ...view },
      clockOffsetMs: Math.round(this.#clock.offsetMs),
    };
  }

  /** Seconds until this replica would let a probe through (at least 1), for `Retry-After`. */
  retryAfterSeconds(): number {
    const until =
      this.#view.state === 'half_open' ? this.#view.probeLeaseUntil : this.#view.halfOpenAt;
    return Math.max(1, Math.ceil((until - this.#clock.now()) / 1_000));
  }

  /** Sends the outcomes gathered so far and waits for Redis to answer (e.g. before shutdown). */
  flush(): Promise<void> {
    return this.#reporter.flush();
  }

  dispose(): void {
    this.#disposed = true;
    clearTimeout(this.#syncTimer);
    this.#unsubscribe?.();
    this.#reporter.dispose();
    this.#fallback?.dispose();
  }

  async #executeClosed<T>(
    fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T,
    context: IDefaultPolicyContext,
    epoch: number,
  ): Promise<T> {
    const started = performance.now();
    let value: T;
    try {
      value = await fn(context);
    } catch (error) {
      const duration = performance.now() - started;
      const handled = this.options.isFailure(error);
      this.#failureEmitter.emit({ duration, handled, reason: { error: error as Error } });
      this.#callEmitter.emit({ outcome: handled ? 'failure' : 'success', durationMs: duration });
      if (handled) this.#reporter.failure(epoch);
      throw error;
    }
    const duration = performance.now() - started;
    if (duration > this.options.slowCallMs) {
      this.#failureEmitter.emit({ duration, handled: true, reason: { value } });
      this.#callEmitter.emit({ outcome: 'failure', durationMs: duration });
      this.#reporter.failure(epoch);
    } else {
      this.#successEmitter.emit({ duration });
      this.#callEmitter.emit({ outcome: 'success', durationMs: duration });
      this.#reporter.success(epoch, this.#view.failures);
    }
    return value;
  }

  async #probe<T>(
    fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T,
    context: IDefaultPolicyContext,
  ): Promise<T> {
    // One acquisition in flight per replica: concurrent callers here would lose to it anyway.
    if (this.#acquiringProbe) throw this.#rejected(new BrokenCircuitError());
    this.#acquiringProbe = true;
    const token = `${this.options.replica}:${randomUUID()}`;
    let reply: ScriptReply | undefined;
    try {
      reply = await this.#storeCall(() =>
        this.store.acquireProbe(this.keys, token, this.options.probeLeaseMs),
      );
    } catch (error) {
      this.#storeFailed(error);
    } finally {
      this.#acquiringProbe = false;
    }
    if (reply === undefined) return this.#executeDegraded(fn, context);
    if (reply.granted !== true) {
      throw this.#rejected(
        reply.state.state === 'isolated' ? new IsolatedCircuitError() : new BrokenCircuitError(),
      );
    }

    const started = performance.now();
    let result: { value: T } | { error: unknown };
    let outcome: 'success' | 'failure';
    try {
      const value = await fn(context);
      result = { value };
      outcome = performance.now() - started > this.options.slowCallMs ? 'failure' : 'success';
    } catch (error) {
      result = { error };
      outcome = this.options.isFailure(error) ? 'failure' : 'success';
    }
    const duration = performance.now() - started;
    this.#callEmitter.emit({ outcome: 'probe', durationMs: duration });
    if (outcome === 'success') this.#successEmitter.emit({ duration });
    else
      this.#failureEmitter.emit({
        duration,
        handled: true,
        reason: 'error' in result ? { error: result.error as Error } : result,
      });

    try {
      await this.#storeCall(() =>
        this.store.releaseProbe(this.keys, token, outcome, this.options.tripSettings),
      );
    } catch (error) {
      // The lease expires by itself; until Redis is back the local fallback decides.
      this.#storeFailed(error);
    }
    if ('error' in result) throw result.error;
    return result.value;
  }

  #executeDegraded<T>(
    fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T,
    context: IDefaultPolicyContext,
  ): Promise<T> {
    if (this.options.whenStoreDown === 'reject' || !this.#fallback) {
      return Promise.reject(
        this.#rejected(new BrokenCircuitError('The circuit breaker store is unavailable')),
      );
    }
    return this.#fallback.execute(fn, context, (outcome, durationMs) => {
      this.#callEmitter.emit({ outcome, durationMs });
    });
  }

  #rejected(error: BrokenCircuitError): BrokenCircuitError {
    this.#callEmitter.emit({ outcome: 'rejected', durationMs: 0 });
    return error;
  }

  async #sendOutcomes(epoch: number, successes: number, failures: number): Promise<void> {
    if (!this.#storeUp) return;
    try {
      await this.#storeCall(() =>
        this.store.record(this.keys, epoch, successes, failures, this.options.tripSettings),
      );
    } catch (error) {
      this.#storeFailed(error);
    }
  }

  /** Runs one store operation, learns Redis's clock from it, and adopts the state it returns. */
  async #storeCall(operation: () => Promise<ScriptReply>): Promise<ScriptReply> {
    const sentAt = Date.now();
    const reply = await operation();
    this.#clock.observe(sentAt, Date.now(), reply.now);
    this.#adopt(reply.state, reply.reason ?? 'learned from Redis');
    return reply;
  }

  /** A store call on behalf of a caller who must hear about failure: the breaker degrades, and the error is rethrown. */
  async #guardedStoreCall(operation: () => Promise<ScriptReply>): Promise<ScriptReply> {
    try {
      return await this.#storeCall(operation);
    } catch (error) {
      this.#storeFailed(error);
      throw error;
    }
  }

  async #sync(): Promise<void> {
    if (this.#disposed) return;
    try {
      const reply = await this.#storeCall(() => this.store.read(this.keys));
      if (!this.#storeUp) this.#storeRecovered(reply.state);
    } catch (error) {
      this.#storeFailed(error);
    } finally {
      this.#scheduleSync();
    }
  }

  #scheduleSync(): void {
    clearTimeout(this.#syncTimer);
    if (this.#disposed) return;
    const delayMs = this.#storeUp ? this.options.syncIntervalMs : this.options.storeRetryMs;
    this.#syncTimer = setTimeout(() => void this.#sync(), delayMs).unref();
  }

  #storeFailed(error: unknown): void {
    if (!this.#storeUp) return;
    this.#storeUp = false;
    this.#reporter.dispose();
    this.#fallback = this.#newFallback();
    this.#storeEmitter.emit({ up: false, error });
    this.#refreshEffective('store unavailable');
    this.#scheduleSync();
  }

  #storeRecovered(shared: SharedBreakerState): void {
    this.#fallback?.dispose();
    this.#fallback = undefined;
    this.#storeUp = true;
    // Whatever Redis holds now is the truth, even if it is older than what this replica saw.
    this.#view = shared;
    this.#reporter.epochChanged(shared.epoch);
    this.#storeEmitter.emit({ up: true });
    this.#refreshEffective('store available');
  }

  #newFallback(): LocalFallback | undefined {
    if (this.options.whenStoreDown === 'reject') return undefined;
    const fallback = new LocalFallback(
      {
        trip: this.options.tripSettings,
        isFailure: this.options.isFailure,
        slowCallMs: this.options.slowCallMs,
      },
      this.#view,
      this.#clock.now(),
    );
    fallback.policy.onStateChange(() => {
      if (this.#fallback === fallback) this.#refreshEffective('local breaker');
    });
    return fallback;
  }

  #adopt(next: SharedBreakerState, reason: string): void {
    if (!isNewer(next, this.#view)) return;
    const epochChanged =
      next.epoch !== this.#view.epoch || next.incarnation !== this.#view.incarnation;
    this.#view = next;
    if (epochChanged) this.#reporter.epochChanged(next.epoch);
    this.#refreshEffective(reason);
  }

  #refreshEffective(reason: string): void {
    let next: BreakerStateName;
    if (this.#storeUp) next = this.#view.state;
    else next = this.#fallback ? this.#fallback.state : 'open';
    const from = this.#effective;
    if (next === from) return;
    this.#effective = next;
    const transition = { from, to: next, reason };
    this.#transitionEmitter.emit(transition);
    this.#stateEmitter.emit(next);
    if (next === 'open' || next === 'isolated') this.#breakEmitter.emit(transition);
    else if (next === 'closed') this.#resetEmitter.emit(undefined);
    else this.#halfOpenEmitter.emit(undefined);
  }
}

const delay = (ms: number) =>
  new Promise<void>((resolve) => {
    setTimeout(resolve, ms).unref();
  });
