import { hostname } from 'node:os';
import {
  BrokenCircuitError,
  EventEmitter,
  IsolatedCircuitError,
  type IFailureEvent,
  type IPolicy,
  type ISuccessEvent,
} from 'cockatiel';
import { breakerKeys, type BreakerKeys } from './breaker-keys';
import { periodMs } from './checks';
import {
  resolveOptions,
  type ResolvedOptions,
  type SharedCircuitBreakerOptions,
} from './breaker-options';
import {
  compareWritten,
  INITIAL_STATE,
  isStale,
  termOf,
  type BreakerStateName,
  type ScriptReply,
  type SharedBreakerState,
  type StateMessage,
  type Term,
} from './breaker-state';
import { isStoreMisconfigured, type BreakerStore } from './breaker-store';
import { isAnyFailure } from './failure-classifier';
import {
  runJudged,
  unwrap,
  verdictOf,
  type BreakerContext,
  type CallOutcome,
  type JudgedCall,
} from './judged-call';
import { LocalBreaker } from './local-breaker';
import { ProbeLedger } from './probe-ledger';
import { RedisClock } from './redis-clock';
import type { TransitionReason } from './transition-reason';
import type { TripReporter } from './trip-strategy';

/**
 * Where a transition of the state this replica enforces comes from:
 * `shared` when it is one transition of the cluster's state in Redis, seen
 * as it happened (every replica on Redis counts the same ones); `local` for
 * everything this replica went through on its own: its local breaker while
 * Redis was away, losing or re-joining Redis, or catching up on several
 * transitions at once.
 */
export type TransitionScope = 'shared' | 'local';

export interface BreakerTransition {
  from: BreakerStateName;
  to: BreakerStateName;
  /** What caused it. */
  reason: TransitionReason;
  /** An operator's words, on an isolate or a reset that gave some. */
  note?: string;
  scope: TransitionScope;
}

/** `probe` is the single half-open call, whatever its result. */
export type BreakerCallOutcome = CallOutcome | 'probe';

export interface BreakerCall {
  outcome: BreakerCallOutcome;
  durationMs: number;
  /** Time this call spent waiting on Redis (acquiring the probe lease); 0 on every other path. */
  storeMs: number;
}

/** One store operation that answered: how long its round trip took. */
export interface StoreCall {
  durationMs: number;
}

export interface StoreChange {
  up: boolean;
  error?: unknown;
}

/** The breaker's state is now served by another Redis server: a failover, or its slot moved. */
export interface StoreSwitch {
  /** The server (`host:port`) that served it before. */
  from: string;
  /** The server that serves it now. */
  to: string;
}

/** What one replica knows and enforces, for `/payments/circuit` and the lab's status command. */
export interface BreakerSnapshot {
  breaker: string;
  /** The state this replica enforces right now. */
  state: BreakerStateName;
  /**
   * Failures, `openedAt`, `halfOpenAt` and `openCount` are those of the breaker deciding this
   * replica's calls: the shared state, the local fallback while Redis is away, or (quorum) this
   * replica's own breaker while it holds the replica open alone.
   */
  failures: number;
  replica: string;
  /** `redis` while the shared state is in use; `local` while this replica runs its in-process fallback. */
  store: 'redis' | 'local';
  /** How the store reaches Redis (`standalone`, `sentinel`, `cluster`), if it says. */
  storeTopology: string | null;
  /** The Redis server (`host:port`) that last answered for this breaker, if the store says. */
  storeServer: string | null;
  /** How many times that server changed (failovers, slot moves) since this replica started. */
  storeSwitches: number;
  /** The trip strategy's name (`consecutive`, `rate`). */
  mode: string;
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
  /** While isolated: when it ends by itself (null: until a reset), and the operator's words. */
  isolation: { until: string | null; reason: string | null } | null;
  /** When a store operation last answered this replica (null: never yet). */
  lastStoreReplyAt: string | null;
  /** Transitions the local view had missed when the last periodic read caught them (0: in step). */
  epochsBehind: number;
}

/** The function a breaker protects: it gets the call's signal and whether it is the probe. */
export type Protected<T> = (context: BreakerContext) => PromiseLike<T> | T;

const NEVER_ABORTED = new AbortController().signal;

const isoOrNull = (ms: number): string | null => (ms > 0 ? new Date(ms).toISOString() : null);

/** Whether `next` is the transition right after `previous` in the same hash. */
const isNextEpoch = (previous: SharedBreakerState, next: SharedBreakerState): boolean =>
  next.epoch === previous.epoch + 1 &&
  (next.incarnation === previous.incarnation || previous.incarnation === 0);

/**
 * A circuit breaker whose state is shared by every replica through Redis.
 *
 * - Decisions on the hot path are local: while closed, a successful call
 *   costs no Redis round trip; while open, rejections cost none either.
 * - Every transition is one Lua script run atomically in Redis, on Redis's
 *   clock, and announced on pub/sub so each replica's local view follows
 *   within a round trip.
 * - After the open period exactly one call in the cluster probes, holding a
 *   lease with an owner token and a TTL; a lease whose call never ran is
 *   given back.
 * - When Redis is slow or gone, store operations fail within their time
 *   budget and the breaker carries on with an in-process breaker that has
 *   the same rules (or rejects, if so configured) until Redis answers again.
 *
 * It is a cockatiel policy: it composes with `wrap`, `timeout`, `retry` and
 * `fallback`, and refuses calls with `BrokenCircuitError` /
 * `IsolatedCircuitError`. Call {@link SharedCircuitBreaker.start} before use and
 * {@link SharedCircuitBreaker.dispose} at shutdown. See DESIGN.md beside this file.
 */
export class SharedCircuitBreaker implements IPolicy<BreakerContext> {
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
  readonly #switchEmitter = new EventEmitter<StoreSwitch>();
  readonly #storeCallEmitter = new EventEmitter<StoreCall>();

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
  /** Another Redis server answers for the shared state now (a failover, a slot moved). */
  readonly onStoreSwitch = this.#switchEmitter.addListener;
  /** Every store operation that answered, with its round trip (for metrics). */
  readonly onStoreCall = this.#storeCallEmitter.addListener;

  readonly #clock = new RedisClock();
  readonly #reporter: TripReporter;
  readonly #ledger: ProbeLedger;
  readonly #releases = new Set<Promise<void>>();
  /** Views of the empty state (incarnation 0), and the incarnation each became (-1: none). */
  readonly #grewInto = new WeakMap<Term, number>();
  #view: SharedBreakerState = INITIAL_STATE;
  /** The last state announced on the channel: a message older than it means Redis went back. */
  #lastMessage: SharedBreakerState | undefined;
  #effective: BreakerStateName = 'closed';
  /** False until the first read succeeds while subscribed, and whenever a store operation fails. */
  #storeUp = false;
  /** Whether the breaker's channel subscription is in place. */
  #subscribed = false;
  #local: LocalBreaker | undefined;
  /**
   * With a quorum: this replica's own breaker, on its own outcomes, while the
   * shared state is closed; a new one for each term of the shared state.
   */
  #guard: LocalBreaker | undefined;
  /** The server that last answered a store call, and how often that changed. */
  #server: string | undefined;
  #switches = 0;
  #acquiringProbe = false;
  #syncTimer: NodeJS.Timeout | undefined;
  /** While isolated for a time: asks the store to end it once the time is up. */
  #isolationTimer: NodeJS.Timeout | undefined;
  /** While isolated: the operator's words, as the store last gave them. */
  #isolationNote: string | undefined;
  /** When (local epoch ms) a store operation last answered; 0 before the first. */
  #lastStoreReplyAt = 0;
  /** Transitions the local view had missed when the last sync read the store. */
  #epochsBehind = 0;
  #unsubscribe: (() => void) | undefined;
  #disposed = false;

  constructor(
    private readonly store: BreakerStore,
    options: SharedCircuitBreakerOptions,
  ) {
    this.options = resolveOptions(options, { replica: hostname(), isFailure: isAnyFailure });
    this.name = options.name;
    this.keys = breakerKeys(options.name, this.options.namespace);
    this.#ledger = new ProbeLedger(this.options.replica, this.options.probeLeaseMs, () =>
      this.#clock.now(),
    );
    this.#reporter = this.options.trip.createReporter({
      store,
      keys: this.keys,
      open: this.options.open,
      flushIntervalMs: this.options.flushIntervalMs,
      clock: this.#clock,
      write: (operation) => this.#write(operation),
      sharedFailures: () => this.#view.failures,
      ...(this.options.quorum > 1
        ? {
            vote: () => ({
              replica: this.options.replica,
              replicas: this.options.quorum,
              windowMs: this.options.quorumWindowMs,
              // This replica's own outcomes met the rule: its guard opened.
              tripped: this.#guard !== undefined && this.#guard.state !== 'closed',
            }),
          }
        : {}),
    });
    this.#local = this.#newLocal();
    this.#guard = this.#newGuard();
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
    let subscribed: () => void = () => undefined;
    const firstSubscription = new Promise<void>((resolve) => (subscribed = resolve));
    let started = false;
    this.#unsubscribe = this.store.subscribe(this.keys.channel, {
      onMessage: (message) => {
        this.#onMessage(message);
      },
      onSubscribed: () => {
        this.#subscribed = true;
        subscribed();
        // Messages may have been missed while the subscription was down: read now.
        if (started) void this.#sync();
      },
      onLost: () => {
        // Without messages this replica would not hear of transitions: it decides locally
        // until the subscription is back.
        this.#subscribed = false;
        this.#storeFailed(new Error('the subscription to the breaker channel was lost'));
      },
    });
    // A store that is down is ridden out (the breaker starts local); a misconfigured one is not.
    await Promise.race([Promise.all([firstSubscription, this.store.ready()]), delay(2_000)]).catch(
      (error: unknown) => {
        if (!isStoreMisconfigured(error)) return;
        this.dispose();
        throw error;
      },
    );
    started = true;
    await this.#sync();
    return this;
  }

  async execute<T>(fn: Protected<T>, signal: AbortSignal = NEVER_ABORTED): Promise<T> {
    if (!this.#storeUp) return this.#executeLocally(fn, signal, 0);
    const view = this.#view;
    switch (view.state) {
      case 'closed':
        // The view is its own term (incarnation, epoch): no allocation on the hot path.
        if (this.#guard) return this.#executeGuarded(this.#guard, fn, signal, view);
        return this.#executeClosed(fn, signal, view);
      case 'isolated':
        throw this.#rejected(new IsolatedCircuitError(), 0);
      case 'open':
        if (this.#clock.now() < view.halfOpenAt) throw this.#rejected(new BrokenCircuitError(), 0);
        return this.#probe(fn, signal);
      case 'half_open':
        if (view.probeOwner !== '' && this.#clock.now() < view.probeLeaseUntil)
          throw this.#rejected(new BrokenCircuitError(), 0);
        return this.#probe(fn, signal);
    }
  }

  /**
   * Holds the breaker open on every replica until {@link SharedCircuitBreaker.reset},
   * or for `forMs`: then it closes by itself, as a reset does (decided on
   * Redis's clock; reason `isolation expired`). `note`, the operator's words,
   * is shown with it. Isolating again replaces the words and the end. Fails
   * if Redis cannot be reached.
   */
  async isolate(note?: string, forMs?: number): Promise<void> {
    if (forMs !== undefined) periodMs('forMs', forMs);
    await this.#guardedStoreCall(() => this.store.force(this.keys, 'isolated', note, forMs));
  }

  /**
   * Closes the breaker on every replica, clears every count and starts a new
   * term (outcomes of calls started before do not count). Fails if Redis
   * cannot be reached.
   */
  async reset(note?: string): Promise<void> {
    await this.#guardedStoreCall(() => this.store.force(this.keys, 'closed', note));
  }

  /** The shared state as Redis holds it now (one read, within the store's time budget). */
  async readShared(): Promise<SharedBreakerState> {
    return (await this.#guardedStoreCall(() => this.store.read(this.keys))).state;
  }

  /**
   * The in-process breaker that decides this replica's calls now: the local
   * fallback while Redis is away, or (quorum) this replica's own breaker
   * under a closed shared state. Undefined when the shared state decides.
   */
  #localDecider(): LocalBreaker | undefined {
    if (!this.#storeUp && this.#local) return this.#local;
    return this.#view.state === 'closed' ? this.#guard : undefined;
  }

  /**
   * The counts and times the snapshot shows: the in-process breaker's while
   * it decides something the shared state does not say (a closed quorum
   * guard shows the shared count instead), else the shared state's.
   */
  #shown(): Pick<SharedBreakerState, 'failures' | 'openedAt' | 'halfOpenAt' | 'openCount'> {
    const local = this.#localDecider();
    if (local === undefined || (local === this.#guard && local.state === 'closed'))
      return this.#view;
    // Read now, before the caller reads the effective state: reading a local breaker's count may
    // decide it (a window ends), which moves the effective state with it.
    const { failures, openedAt, halfOpenAt, openCount } = local;
    return { failures, openedAt, halfOpenAt, openCount };
  }

  snapshot(): BreakerSnapshot {
    const view = this.#view;
    const deciding = this.#shown();
    return {
      breaker: this.name,
      state: this.#effective,
      failures: deciding.failures,
      replica: this.options.replica,
      store: this.#storeUp ? 'redis' : 'local',
      storeTopology: this.store.topology ?? null,
      storeServer: this.#server ?? null,
      storeSwitches: this.#switches,
      mode: this.options.trip.mode,
      openedAt: isoOrNull(deciding.openedAt),
      halfOpenAt: isoOrNull(deciding.halfOpenAt),
      openCount: deciding.openCount,
      openMs: this.options.open.openMs,
      localView: { ...view },
      clockOffsetMs: Math.round(this.#clock.offsetMs),
      isolation:
        this.#effective === 'isolated'
          ? {
              until: isoOrNull(
                this.#storeUp ? view.isolatedUntil : (this.#local?.isolatedUntil ?? 0),
              ),
              reason: this.#isolationNote ?? null,
            }
          : null,
      lastStoreReplyAt: isoOrNull(this.#lastStoreReplyAt),
      epochsBehind: this.#epochsBehind,
    };
  }

  /** Seconds until this replica would let a probe through (at least 1), for `Retry-After`. */
  retryAfterSeconds(): number {
    const view = this.#view;
    const until =
      this.#localDecider()?.halfOpenAt ??
      (view.state === 'half_open' ? view.probeLeaseUntil : view.halfOpenAt);
    return Math.max(1, Math.ceil((until - this.#clock.now()) / 1_000));
  }

  /** Sends the outcomes and probe reports gathered so far and waits for Redis to answer them. */
  async flush(): Promise<void> {
    await Promise.all([this.#reporter.flush(), ...this.#releases]);
  }

  dispose(): void {
    this.#disposed = true;
    this.#subscribed = false;
    clearTimeout(this.#syncTimer);
    clearTimeout(this.#isolationTimer);
    this.#unsubscribe?.();
    this.#reporter.dispose();
    this.#local?.dispose();
    this.#guard?.dispose();
  }

  /** The hot path: kept free of allocations and Redis beyond what the call itself needs. */
  async #executeClosed<T>(fn: Protected<T>, signal: AbortSignal, term: Term): Promise<T> {
    const started = performance.now();
    const inFlight = this.options.slowCallsInFlight ? this.#watchInFlight(term) : undefined;
    let value: T;
    try {
      value = await fn({ signal, probe: false });
    } catch (error) {
      const durationMs = performance.now() - started;
      const counted = inFlight?.end() ?? false;
      const verdict = verdictOf({ error }, signal, this.options);
      const failed = verdict === 'failure' || counted;
      this.#failureEmitter.emit({
        duration: durationMs,
        handled: failed,
        reason: { error: error as Error },
      });
      if (failed && !counted) this.#record(term, true);
      this.#callEmitter.emit({ outcome: failed ? 'failure' : 'success', durationMs, storeMs: 0 });
      throw error;
    }
    const durationMs = performance.now() - started;
    const counted = inFlight?.end() ?? false;
    if (counted || durationMs > this.options.slowCallMs) {
      this.#failureEmitter.emit({ duration: durationMs, handled: true, reason: { value } });
      if (!counted) this.#record(term, true);
      this.#callEmitter.emit({ outcome: 'failure', durationMs, storeMs: 0 });
    } else {
      this.#successEmitter.emit({ duration: durationMs });
      this.#record(term, false);
      this.#callEmitter.emit({ outcome: 'success', durationMs, storeMs: 0 });
    }
    return value;
  }

  /**
   * Counts the call as a slow failure once it has been in flight for
   * `slowCallMs`; `end()` stops the watch and says whether it was counted.
   */
  #watchInFlight(term: Term): { end: () => boolean } {
    let counted = false;
    const timer = setTimeout(() => {
      counted = true;
      this.#record(term, true);
    }, this.options.slowCallMs).unref();
    return {
      end: () => {
        clearTimeout(timer);
        return counted;
      },
    };
  }

  /**
   * Closed, with a quorum: this replica's guard decides whether the call runs
   * (it may be open here while the cluster is closed), and every outcome it
   * judges counts in the shared state too.
   */
  #executeGuarded<T>(
    guard: LocalBreaker,
    fn: Protected<T>,
    signal: AbortSignal,
    term: Term,
  ): Promise<T> {
    return guard.execute(fn, signal, (outcome, durationMs, call) => {
      if (call !== undefined) {
        this.#emitJudged(call, durationMs);
        if (call.verdict === 'failure' || call.verdict === 'success')
          this.#record(term, call.verdict === 'failure');
      }
      this.#callEmitter.emit({ outcome, durationMs, storeMs: 0 });
    });
  }

  #record(term: Term, failed: boolean): void {
    const grewInto = term.incarnation === 0 ? this.#grewInto.get(term) : undefined;
    const resolved = grewInto === undefined ? term : { incarnation: grewInto, epoch: term.epoch };
    this.#reporter.record(resolved, failed);
  }

  async #probe<T>(fn: Protected<T>, signal: AbortSignal): Promise<T> {
    // One acquisition in flight per replica: concurrent callers here would lose to it anyway.
    if (this.#acquiringProbe) throw this.#rejected(new BrokenCircuitError(), 0);
    this.#acquiringProbe = true;
    const token = this.#ledger.newToken();
    const asked = performance.now();
    let reply: ScriptReply | undefined;
    try {
      reply = await this.#storeCall(() =>
        this.store.acquireProbe(this.keys, token, this.options.probeLeaseMs),
      );
    } catch (error) {
      // Redis may still run the request later: a lease granted then must not stand.
      this.#ledger.finished(token, 'abandon');
      this.#storeFailed(error);
      this.#release(token);
    } finally {
      this.#acquiringProbe = false;
    }
    const storeMs = performance.now() - asked;
    if (reply === undefined) return this.#executeLocally(fn, signal, storeMs);
    if (reply.granted !== true) {
      this.#ledger.forget(token);
      throw this.#rejected(
        reply.state.state === 'isolated' ? new IsolatedCircuitError() : new BrokenCircuitError(),
        storeMs,
      );
    }

    this.#ledger.running(token);
    const { result, durationMs, verdict } = await this.#run(fn, signal, true);
    // Reported off the caller's path; until Redis hears it, the lease keeps others out.
    this.#ledger.finished(
      token,
      verdict === 'failure' ? 'failure' : verdict === 'cancelled' ? 'abandon' : 'success',
    );
    this.#release(token);
    this.#callEmitter.emit({ outcome: 'probe', durationMs, storeMs });
    return unwrap(result);
  }

  /** Runs the protected function and tells cockatiel's listeners how it went. */
  async #run<T>(fn: Protected<T>, signal: AbortSignal, probe: boolean): Promise<JudgedCall<T>> {
    const call = await runJudged(fn, signal, probe, this.options);
    this.#emitJudged(call, call.durationMs);
    return call;
  }

  /** Tells cockatiel's listeners how a judged call went. */
  #emitJudged(
    { result, verdict }: Pick<JudgedCall<unknown>, 'result' | 'verdict'>,
    durationMs: number,
  ): void {
    if ('error' in result) {
      this.#failureEmitter.emit({
        duration: durationMs,
        handled: verdict === 'failure',
        reason: { error: result.error as Error },
      });
    } else if (verdict === 'failure') {
      this.#failureEmitter.emit({ duration: durationMs, handled: true, reason: result });
    } else {
      this.#successEmitter.emit({ duration: durationMs });
    }
  }

  #executeLocally<T>(fn: Protected<T>, signal: AbortSignal, storeMs: number): Promise<T> {
    if (!this.#local) {
      return Promise.reject(
        this.#rejected(new BrokenCircuitError('The circuit breaker store is unavailable'), storeMs),
      );
    }
    return this.#local.execute(fn, signal, (outcome, durationMs) => {
      this.#callEmitter.emit({ outcome, durationMs, storeMs });
    });
  }

  #rejected(error: BrokenCircuitError, storeMs: number): BrokenCircuitError {
    this.#callEmitter.emit({ outcome: 'rejected', durationMs: storeMs, storeMs });
    return error;
  }

  /** An outcome write: a store failure degrades the breaker and drops the batch. */
  async #write(operation: () => Promise<ScriptReply>): Promise<ScriptReply | undefined> {
    if (!this.#storeUp) return undefined;
    return this.#guardedStoreCall(operation).catch(() => undefined);
  }

  /** Reports a finished (or abandoned) probe to Redis, once, off the callers' path. */
  #release(token: string): void {
    const release = this.#ledger.startRelease(token);
    if (release === undefined) return;
    const sending = this.#storeCall(() =>
      this.store.releaseProbe(this.keys, token, release, this.options.open),
    ).then(
      () => {
        this.#ledger.forget(token);
      },
      (error: unknown) => {
        // Sent again when the lease is next seen (the next read, or Redis coming back).
        this.#ledger.releaseFailed(token);
        this.#storeFailed(error);
      },
    );
    this.#releases.add(sending);
    void sending.finally(() => this.#releases.delete(sending));
  }

  /** Runs one store operation, learns Redis's clock from it, and learns the state it returns. */
  async #storeCall(operation: () => Promise<ScriptReply>): Promise<ScriptReply> {
    const viewWhenSent = this.#view;
    const sentAt = this.#clock.localNow();
    const reply = await operation();
    const answeredAt = this.#clock.localNow();
    this.#clock.observe(sentAt, answeredAt, reply.now);
    this.#lastStoreReplyAt = Date.now();
    this.#storeCallEmitter.emit({ durationMs: answeredAt - sentAt });
    this.#noteServer();
    // Redis answers with what it holds now. Older than what this replica knew when it asked
    // means Redis went back (a restart from a snapshot, a failover to a lagging replica).
    const wentBack = compareWritten(reply.state, viewWhenSent) < 0;
    this.#learn(reply.state, wentBack, reply.reason ?? 'read from the store', reply.note);
    return reply;
  }

  /** Reports a change of the server that answers: what a failover looks like from here. */
  #noteServer(): void {
    const server = this.store.serverOf?.(this.keys);
    if (server === undefined || server === this.#server) return;
    const from = this.#server;
    this.#server = server;
    if (from === undefined) return;
    this.#switches += 1;
    this.#switchEmitter.emit({ from, to: server });
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

  #onMessage(message: StateMessage): void {
    // Redis announces changes in the order it makes them: a message older than the one
    // before it means Redis went back.
    const wentBack =
      this.#lastMessage !== undefined && compareWritten(message.state, this.#lastMessage) < 0;
    this.#lastMessage = message.state;
    this.#learn(message.state, wentBack, message.reason ?? 'announced', message.note);
  }

  /**
   * Takes in a state Redis held. Versions only order what arrives out of
   * order: a state older than the view is ignored, unless it proves that
   * Redis went back, in which case what Redis holds now is the truth.
   */
  #learn(
    state: SharedBreakerState,
    wentBack: boolean,
    reason: TransitionReason,
    note: string | undefined,
  ): void {
    if (state.probeOwner !== '' && this.#ledger.owns(state.probeOwner))
      this.#release(state.probeOwner);
    const previous = this.#view;
    if (!wentBack && isStale(state, previous)) return;
    this.#view = state;
    if (state.state !== 'isolated') this.#isolationNote = undefined;
    else if (note !== undefined || state.epoch !== previous.epoch) this.#isolationNote = note;
    this.#scheduleIsolationEnd();
    // Calls that started on the empty state count in the incarnation it became, and no other.
    if (previous.incarnation === 0) this.#grewInto.set(previous, state.incarnation || -1);
    this.#reporter.termChanged(termOf(state));
    // A new term of the shared state (it opened, closed, was reset): this replica's guard starts
    // over. The empty state growing into its first incarnation is the same term.
    const newTerm =
      state.epoch !== previous.epoch ||
      (previous.incarnation !== 0 && state.incarnation !== previous.incarnation);
    if (this.#guard && newTerm) this.#guard = this.#newGuard();
    // One transition of the shared state, seen as it happened, from the state it left. With a
    // quorum, a replica whose own breaker was open or probing left that state instead: its own.
    const shared = isNextEpoch(previous, state) && this.#effective === previous.state;
    if (this.#storeUp) this.#refreshEffective(reason, shared ? 'shared' : 'local', note);
  }

  /** While the view is isolated for a time, asks the store to end it when the time is up. */
  #scheduleIsolationEnd(retryMs = 0): void {
    clearTimeout(this.#isolationTimer);
    this.#isolationTimer = undefined;
    const { state, isolatedUntil } = this.#view;
    if (this.#disposed || state !== 'isolated' || isolatedUntil === 0) return;
    // The estimate of Redis's clock may run early: the store decides, and says if it is too soon.
    const delayMs = Math.max(retryMs, isolatedUntil - this.#clock.now() + 1);
    this.#isolationTimer = setTimeout(() => {
      this.#isolationTimer = undefined;
      // Redis away at the end: asked again once it may be back (recovery also re-arms this).
      if (!this.#storeUp) {
        this.#scheduleIsolationEnd(this.options.storeRetryMs);
        return;
      }
      this.#storeCall(() => this.store.endIsolation(this.keys)).then(
        () => {
          this.#scheduleIsolationEnd(50);
        },
        (error: unknown) => {
          this.#storeFailed(error);
          this.#scheduleIsolationEnd(this.options.storeRetryMs);
        },
      );
    }, delayMs).unref();
  }

  async #sync(): Promise<void> {
    if (this.#disposed) return;
    try {
      const before = this.#view;
      const { state } = await this.#storeCall(() => this.store.read(this.keys));
      // Transitions that reached this replica by this read and not by their message.
      const sameHash = state.incarnation === before.incarnation || before.incarnation === 0;
      this.#epochsBehind = sameHash ? Math.max(0, state.epoch - before.epoch) : 0;
      if (!this.#storeUp && this.#subscribed) this.#storeRecovered();
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
    if (!this.#storeUp || this.#disposed) return;
    this.#storeUp = false;
    this.#reporter.dispose();
    this.#local = this.#newLocal();
    this.#storeEmitter.emit({ up: false, error });
    this.#refreshEffective('store unavailable', 'local');
    this.#scheduleSync();
  }

  /**
   * Redis answers again: the view already holds what it holds now (the read
   * that noticed it), even when that is older than what this replica saw
   * before. What the local breaker learned meanwhile is not merged back:
   * counts from an unknown period would be guesswork.
   */
  #storeRecovered(): void {
    // A read may come back after dispose(): a disposed breaker stays off the shared state.
    if (this.#disposed) return;
    this.#local?.dispose();
    this.#local = undefined;
    this.#storeUp = true;
    this.#reporter.restart(termOf(this.#view));
    this.#storeEmitter.emit({ up: true });
    this.#refreshEffective('store available', 'local');
    // An isolation whose end came while Redis was away: Redis still holds it, ask it to end.
    this.#scheduleIsolationEnd();
  }

  /** The in-process breaker for a spell without Redis, starting from the last shared state known. */
  #newLocal(): LocalBreaker | undefined {
    this.#local?.dispose();
    if (this.options.whenStoreDown === 'reject') return undefined;
    const view = this.#view;
    const local = new LocalBreaker(
      {
        trip: this.options.trip,
        open: this.options.open,
        isFailure: this.options.isFailure,
        slowCallMs: this.options.slowCallMs,
        now: () => this.#clock.now(),
      },
      {
        state: view.state,
        openedAt: view.openedAt,
        halfOpenAt: view.halfOpenAt,
        openCount: view.openCount,
        failures: view.failures,
        isolatedUntil: view.isolatedUntil,
      },
    );
    local.onTransition(({ reason }) => {
      if (this.#local === local && !this.#storeUp) this.#refreshEffective(reason, 'local');
    });
    return local;
  }

  /**
   * With a quorum, this replica's own breaker for a term of a closed shared
   * state: the trip rule on this replica's outcomes alone, so a replica whose
   * path is broken stops calling even while too few replicas fail to open the
   * shared state.
   */
  #newGuard(): LocalBreaker | undefined {
    this.#guard?.dispose();
    if (this.options.quorum <= 1) return undefined;
    const guard = new LocalBreaker({
      trip: this.options.trip,
      open: this.options.open,
      isFailure: this.options.isFailure,
      slowCallMs: this.options.slowCallMs,
      now: () => this.#clock.now(),
    });
    guard.onTransition(({ reason }) => {
      if (this.#guard === guard && this.#storeUp) this.#refreshEffective(reason, 'local');
    });
    return guard;
  }

  #refreshEffective(reason: TransitionReason, scope: TransitionScope, note?: string): void {
    // Redis away with no local fallback: every call is refused (whenStoreDown: 'reject').
    const next =
      !this.#storeUp && !this.#local ? 'open' : (this.#localDecider() ?? this.#view).state;
    const from = this.#effective;
    if (next === from) return;
    this.#effective = next;
    const transition: BreakerTransition = {
      from,
      to: next,
      reason,
      scope,
      ...(note === undefined ? {} : { note }),
    };
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
