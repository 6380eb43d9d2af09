/**
 * Why the state a replica enforces changed: the store's decisions give
 * these; a replica adds four of its own (below).
 */
export const STORE_REASONS = [
  /** Consecutive trip: the cluster's consecutive failures reached the threshold. */
  'failure threshold reached',
  /** Rate trip: a settled window held enough calls, and enough of them failed. */
  'failure rate reached',
  /** The open period ended: one caller holds the probe lease (half-open). */
  'open period over',
  /** Half-open, the lease was given back or expired: a new caller holds it. */
  'probe lease free; new probe',
  'probe success',
  'probe failure',
  /** The prober gave the lease back without a verdict (it gave up, or its caller cancelled). */
  'probe abandoned',
  'isolated by an operator',
  'reset by an operator',
  /** An isolation given a duration reached its end (Redis time): closed, as by a reset. */
  'isolation expired',
  /** Counts changed, the state did not (consecutive failures recorded). */
  'outcomes recorded',
  /** Counts changed, the state did not (a rate window decided). */
  'window decided',
] as const;

/** What only a replica says, of what it saw on its own. */
const REPLICA_REASONS = [
  /** This replica could not reach the store: it decides alone. */
  'store unavailable',
  /** The store answers again: this replica follows the shared state. */
  'store available',
  /** A read or a reply showed a change nobody announced (the store went back, or a message was lost). */
  'read from the store',
  /** A message without a reason this version knows. */
  'announced',
] as const;

/** Every reason a transition may give: the store's, then the replica's own. */
export const TRANSITION_REASONS = [...STORE_REASONS, ...REPLICA_REASONS] as const;

export type TransitionReason = (typeof TRANSITION_REASONS)[number];
/** A reason the store's decisions give (in replies and messages). */
export type StoreReason = (typeof STORE_REASONS)[number];

/** Whether `value` is a reason this version knows. */
export const isTransitionReason = (value: unknown): value is TransitionReason =>
  typeof value === 'string' && (TRANSITION_REASONS as readonly string[]).includes(value);

/** Whether `value` is a reason the store gives (what a message or a reply may carry). */
export const isStoreReason = (value: unknown): value is StoreReason =>
  typeof value === 'string' && (STORE_REASONS as readonly string[]).includes(value);
