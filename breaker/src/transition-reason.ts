/**
 * Why the state a replica enforces changed. The store's decisions give the
 * first ones; the replica adds the last four for what it saw on its own.
 */
export const TRANSITION_REASONS = [
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
  /** Counts changed, the state did not (consecutive failures recorded). */
  'outcomes recorded',
  /** Counts changed, the state did not (a rate window decided). */
  'window decided',
  /** This replica could not reach the store: it decides alone. */
  'store unavailable',
  /** The store answers again: this replica follows the shared state. */
  'store available',
  /** A read or a reply showed a change nobody announced (the store went back, or a message was lost). */
  'read from the store',
  /** A message without a reason this version knows. */
  'announced',
] as const;

export type TransitionReason = (typeof TRANSITION_REASONS)[number];

/** Whether `value` is a reason this version knows (the store's messages are checked with it). */
export const isTransitionReason = (value: unknown): value is TransitionReason =>
  typeof value === 'string' && (TRANSITION_REASONS as readonly string[]).includes(value);
