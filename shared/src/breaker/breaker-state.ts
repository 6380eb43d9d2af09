/** The four states of a breaker, as stored in Redis and shown everywhere. */
export type BreakerStateName = 'closed' | 'open' | 'half_open' | 'isolated';

export const BREAKER_STATES: readonly BreakerStateName[] = [
  'closed',
  'open',
  'half_open',
  'isolated',
];

/**
 * The shared state of one breaker as Redis holds it. Times are Redis server
 * time in epoch milliseconds, never a replica's clock.
 */
export interface SharedBreakerState {
  state: BreakerStateName;
  /** Increments on every transition; outcome reports name the epoch they were observed in. */
  epoch: number;
  /** Increments on every change (transitions and counts); orders updates from pub/sub and reads. */
  version: number;
  /**
   * When this state hash was created (Redis time). A different value means
   * Redis lost the state (restart without persistence) and versions restarted.
   */
  incarnation: number;
  /** Consecutive failures (consecutive mode) or failures in the window (rate mode). */
  failures: number;
  /** Calls in the window (rate mode; 0 in consecutive mode). */
  calls: number;
  openedAt: number;
  /** When the open period ends and one probe may run. */
  halfOpenAt: number;
  /** Openings since the breaker last closed: drives the growing open period. */
  openCount: number;
  changedAt: number;
  /** While half-open: when the current probe's lease expires (0 when none is held). */
  probeLeaseUntil: number;
}

export const INITIAL_STATE: SharedBreakerState = {
  state: 'closed',
  epoch: 0,
  version: 0,
  incarnation: 0,
  failures: 0,
  calls: 0,
  openedAt: 0,
  halfOpenAt: 0,
  openCount: 0,
  changedAt: 0,
  probeLeaseUntil: 0,
};

/** What every script answers: the state after it ran, Redis's clock, and what happened. */
export interface ScriptReply {
  state: SharedBreakerState;
  /** Redis server time when the script ran (ms). */
  now: number;
  /** The state before and why, when the script made a transition. */
  from?: BreakerStateName;
  reason?: string;
  /** acquireProbe: whether this caller holds the probe lease. */
  granted?: boolean;
  /** record/releaseProbe: the report named an old epoch or a lease it no longer holds. */
  stale?: boolean;
}

/** A message on the breaker's channel: the state after a change, and the transition if any. */
export interface StateMessage {
  state: SharedBreakerState;
  now: number;
  from?: BreakerStateName;
  reason?: string;
}

const isStateName = (value: unknown): value is BreakerStateName =>
  typeof value === 'string' && (BREAKER_STATES as readonly string[]).includes(value);

/** Reads a state object that came from Lua's cjson, refusing anything malformed. */
export function parseSharedState(raw: unknown): SharedBreakerState {
  if (typeof raw !== 'object' || raw === null) throw new Error('breaker state is not an object');
  const record = raw as Record<string, unknown>;
  if (!isStateName(record.state)) throw new Error(`unknown breaker state ${String(record.state)}`);
  const number = (field: keyof SharedBreakerState): number => {
    const value = Number(record[field] ?? 0);
    if (!Number.isFinite(value)) throw new Error(`breaker state field ${field} is not a number`);
    return value;
  };
  return {
    state: record.state,
    epoch: number('epoch'),
    version: number('version'),
    incarnation: number('incarnation'),
    failures: number('failures'),
    calls: number('calls'),
    openedAt: number('openedAt'),
    halfOpenAt: number('halfOpenAt'),
    openCount: number('openCount'),
    changedAt: number('changedAt'),
    probeLeaseUntil: number('probeLeaseUntil'),
  };
}

/** True when `next` describes a later state than `current` and should replace it. */
export function isNewer(next: SharedBreakerState, current: SharedBreakerState): boolean {
  if (next.incarnation !== current.incarnation) return true;
  return next.version > current.version;
}
