import type { BreakerKeys } from './breaker-keys';
import type { ConsecutiveTrip, OpenSettings, QuorumVote, RateTrip } from './breaker-options';
import type { ScriptReply, StateMessage, Term } from './breaker-state';

/** A run of outcomes of one kind, in the order they happened (consecutive mode). */
export interface OutcomeRun {
  kind: 'success' | 'failure';
  count: number;
}

/** Outcomes of calls that ended in one window bucket (rate mode). */
export interface BucketCounts {
  bucket: number;
  successes: number;
  failures: number;
}

/** What a probe's holder reports: its verdict, or that it gives the lease back without one. */
export type ProbeRelease = 'success' | 'failure' | 'abandon';

export interface ChannelSubscription {
  /** Every message on the channel. */
  onMessage: (message: StateMessage) => void;
  /** The subscription is in place: first, and again after every reconnection (messages may have been missed). */
  onSubscribed?: () => void;
  /** The subscriber connection closed: messages are lost until `onSubscribed` runs again. */
  onLost?: () => void;
}

/**
 * The store was pointed at the wrong kind of server (a standalone URL that
 * reaches a cluster node): a mistake to fix, not an outage to ride out.
 * `ready()` rejects with it, and the breaker's `start()` throws it.
 */
export class StoreMisconfiguredError extends Error {
  override readonly name = 'StoreMisconfiguredError';
}

/** Whether `error` is a {@link StoreMisconfiguredError}. */
export const isStoreMisconfigured = (error: unknown): error is StoreMisconfiguredError =>
  error instanceof StoreMisconfiguredError;

/**
 * Where a shared breaker keeps its state: the one thing the state machine
 * talks to. Every method but `subscribe` is one atomic decision on the
 * shared state, taken on the store's clock, that answers the state after it
 * (and the store's time) and announces any change to every subscriber of
 * the breaker's channel. The breaker never decides on a value it read in an
 * earlier call.
 *
 * {@link RedisBreakerStore} keeps it in Redis (each decision is one Lua
 * script); {@link MemoryBreakerStore} keeps it in this process, with the
 * same rules, for tests and for a single process.
 *
 * Every operation fails (rejects) within {@link BreakerStore.operationTimeoutMs}
 * when the store cannot answer; the breaker then decides alone until a read
 * succeeds again.
 */
export interface BreakerStore {
  /** The budget of one operation, in milliseconds. */
  readonly operationTimeoutMs: number;
  /** How the store reaches its data (`standalone`, `sentinel`, `cluster`), when that means anything. */
  readonly topology?: string;
  /**
   * The server (`host:port`) that holds a breaker's state now, as far as the
   * store knows; undefined while it does not know. A change is a failover
   * (or a move of the breaker's slot), which the breaker reports.
   */
  serverOf?(keys: BreakerKeys): string | undefined;
  /**
   * Resolves once the store can answer; rejects when it cannot be reached in
   * time, or with {@link StoreMisconfiguredError} when it is the wrong kind.
   */
  ready(): Promise<void>;
  /**
   * Follows a breaker's channel. `onSubscribed` runs each time the
   * subscription is (again) in place, `onLost` each time it drops. Returns a
   * function that ends this subscription (calling it twice is harmless).
   */
  subscribe(channel: string, subscription: ChannelSubscription): () => void;
  /** The state as the store holds it now; changes nothing. */
  read(keys: BreakerKeys): Promise<ScriptReply>;
  /**
   * Consecutive trip: one replica's outcomes of `term`, as runs in the order
   * they happened. A failure adds to the count and opens at the threshold; a
   * success resets it. Outcomes of another term change nothing (`stale`).
   * With a `vote`, a failure also notes its replica, and the threshold opens
   * only once `vote.replicas` distinct replicas failed within `vote.windowMs`.
   */
  recordConsecutive(
    keys: BreakerKeys,
    term: Term,
    runs: readonly OutcomeRun[],
    trip: ConsecutiveTrip,
    open: OpenSettings,
    vote?: QuorumVote,
  ): Promise<ScriptReply>;
  /**
   * Rate trip: adds one replica's per-bucket counts of `term` to the sliding
   * window, then decides every bucket settled `settleMs` after it ended; the
   * reply's `decideAt` is when the next one settles. A `vote` adds the
   * quorum, as for {@link BreakerStore.recordConsecutive}.
   */
  recordRate(
    keys: BreakerKeys,
    term: Term,
    buckets: readonly BucketCounts[],
    trip: RateTrip,
    settleMs: number,
    open: OpenSettings,
    vote?: QuorumVote,
  ): Promise<ScriptReply>;
  /**
   * Asks for the half-open probe: `granted` to exactly one caller once the
   * open period is over, or when the lease was given back or expired.
   * Answers within one round trip.
   */
  acquireProbe(keys: BreakerKeys, token: string, leaseMs: number): Promise<ScriptReply>;
  /** The lease holder's report: success closes, failure reopens, abandon gives the lease back. */
  releaseProbe(
    keys: BreakerKeys,
    token: string,
    release: ProbeRelease,
    open: OpenSettings,
  ): Promise<ScriptReply>;
  /**
   * An operator's decision: isolated holds it open; closed resets it, in a new
   * term. `note`, the operator's words, travels with the announcement. An
   * isolation with `forMs` ends by itself that long after (store time; see
   * {@link BreakerStore.endIsolation}); isolating again replaces words and end.
   */
  force(
    keys: BreakerKeys,
    target: 'isolated' | 'closed',
    note?: string,
    forMs?: number,
  ): Promise<ScriptReply>;
  /**
   * Closes an isolation whose end has come on the store's clock, as a reset
   * does (reason `isolation expired`); changes nothing otherwise.
   */
  endIsolation(keys: BreakerKeys): Promise<ScriptReply>;
  /** Ends every subscription and releases the store's resources. */
  close(): Promise<void>;
}
