import type { BreakerKeys } from './breaker-keys';
import type { OpenSettings, QuorumVote } from './breaker-options';
import type { ScriptReply, Term } from './breaker-state';
import type { BreakerStore } from './breaker-store';
import type { RedisClock } from './redis-clock';
import type { TransitionReason } from './transition-reason';

/** What a strategy's reporter needs from the breaker it reports for. */
export interface TripReporting {
  store: BreakerStore;
  keys: BreakerKeys;
  open: OpenSettings;
  /** How long a strategy may gather outcomes before one write (`flushIntervalMs`). */
  flushIntervalMs: number;
  /** The breaker's estimate of the store's clock. */
  clock: RedisClock;
  /** Runs one write on the breaker's path for writes: undefined when the store failed. */
  write(operation: () => Promise<ScriptReply>): Promise<ScriptReply | undefined>;
  /** The cluster's count of failures as this replica last saw it (read on the hot path). */
  sharedFailures: () => number;
  /** This replica's part in the quorum as it stands now, sent with every outcome write; undefined: no quorum. */
  vote?: () => QuorumVote;
}

/** Sends a strategy's outcomes to the shared state (see `OutcomeReporter`). */
export interface TripReporter {
  /** One call of `term` ended: `failed` says how it counts. */
  record(term: Term, failed: boolean): void;
  /** The breaker moved to `term`; outcomes gathered in an earlier one are forgotten. */
  termChanged(term: Term): void;
  /** Sends what is pending now; resolves once every write sent so far has been answered. */
  flush(): Promise<void>;
  /** Forgets everything pending and sends nothing more. */
  dispose(): void;
  /** Starts again after `dispose`, in `term`. */
  restart(term: Term): void;
}

/**
 * A closed breaker's counts, kept by the local breaker while the store is
 * away: the same rule the store applies, in this process.
 */
export interface TripCounter {
  /** Consecutive failures, or failures in the last decided window. */
  readonly failures: number;
  /** Calls in the last decided window (0 when the rule has no window). */
  readonly calls: number;
  /** One counted outcome; the reason to open now, if the rule says so. */
  record(failed: boolean): TransitionReason | undefined;
  /** What time alone decides (windows that ended); the reason to open, if any. */
  decide(): TransitionReason | undefined;
  /** When {@link TripCounter.decide} may next decide without more outcomes (undefined: never). */
  nextDecisionAt(): number | undefined;
  /** The breaker opened: counts that only matter while closed go. */
  opened(): void;
  /** The breaker closed: every count goes. */
  cleared(): void;
}

/**
 * When a closed breaker opens: one object per rule, used wherever the
 * breaker decides, as cockatiel's `IBreaker` is. It tells the shared state
 * through its own store decision (its reporter batches outcomes into it),
 * and the local breaker through its counter. A new rule needs a decision of
 * its own in every store, so that it stays atomic there.
 */
export interface TripStrategy {
  /** Names the rule in snapshots (`consecutive`, `rate`). */
  readonly mode: string;
  /** Sends this rule's outcomes to the shared state, batched, off the callers' path. */
  createReporter(reporting: TripReporting): TripReporter;
  /** Counts for the local breaker; `failures` is where a closed shared state left the count. */
  createCounter(now: () => number, failures: number): TripCounter;
}
