import type { BreakerStateName, TransitionScope } from '@cb-lab/shared-breaker';

/*
 * Everything a chaos run records, on one clock: milliseconds since the run
 * started (`performance.now()` of the one process that runs every instance).
 */

/** One call of the protected function. */
export interface FunctionCall {
  instance: number;
  start: number;
  end: number;
  /** The breaker said this call is the probe. */
  probe: boolean;
  /** The instance was on the shared state when the call started (not its local breaker). */
  storeUp: boolean;
}

/** A change of the state one instance enforces, with the shared state it knew then. */
export interface InstanceTransition {
  instance: number;
  at: number;
  from: BreakerStateName;
  to: BreakerStateName;
  scope: TransitionScope;
  epoch: number;
  incarnation: number;
}

export interface StoreChangeRecord {
  instance: number;
  at: number;
  up: boolean;
}

/**
 * What Redis holds from `at` on. `announced`: learned from a message on the
 * breaker's channel (replicas hear it too); otherwise a change nobody was
 * told of (a rewind, a restart), which replicas learn on their next read.
 * `unknown`: the harness cannot tell (Redis restarting, its subscription
 * not back yet): nothing is checked against it.
 */
export interface TruthPoint {
  at: number;
  state: BreakerStateName | 'unknown';
  announced: boolean;
  /** On announced transitions: the state before. */
  from?: BreakerStateName;
  epoch: number;
  incarnation: number;
  /** Half-open: the token of the probe lease's holder ('' when none). */
  probeOwner: string;
  /** Half-open: when that lease expires, on the run's clock (Infinity when unknown or none). */
  leaseUntil: number;
}

/** A spell during which Redis did not answer (or slowly), or went back (`until` = `from`). */
export interface Trouble {
  kind: 'pause' | 'slow' | 'restart-empty' | 'restart-from-snapshot' | 'rewind';
  from: number;
  until: number;
}

export interface Trace {
  calls: FunctionCall[];
  transitions: InstanceTransition[];
  storeChanges: StoreChangeRecord[];
  truth: TruthPoint[];
  troubles: Trouble[];
  /** The time each call that waited on Redis waited (from the breaker's call events). */
  storeWaits: number[];
  /** Calls made through the breaker, by outcome as it reported them. */
  outcomes: Record<'success' | 'failure' | 'rejected' | 'probe', number>;
  /** The longest the event loop was late during the run. */
  eventLoopMaxMs: number;
  /** When the run ended. */
  endedAt: number;
  instances: number;
}

export const emptyTrace = (instances: number): Trace => ({
  calls: [],
  transitions: [],
  storeChanges: [],
  truth: [],
  troubles: [],
  storeWaits: [],
  outcomes: { success: 0, failure: 0, rejected: 0, probe: 0 },
  eventLoopMaxMs: 0,
  endedAt: 0,
  instances,
});
