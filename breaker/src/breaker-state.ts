import { isStoreReason, type StoreReason } from './transition-reason';

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
  /** Increments on every change (transitions and counts). */
  version: number;
  /**
   * Redis time of the last change, in microseconds (at least 1 more than the
   * change before). Orders the states a replica hears of (replies and
   * messages arrive on two connections), even after Redis went back to an
   * older copy, where versions repeat.
   */
  writtenAt: number;
  /**
   * When this state hash was created (Redis time); 0 before it exists. A
   * different value means Redis lost the state (a restart without
   * persistence) and versions started again.
   */
  incarnation: number;
  /** Consecutive failures (consecutive mode) or failures in the last decided window (rate mode). */
  failures: number;
  /** Calls in the last decided window (rate mode; 0 in consecutive mode). */
  calls: number;
  openedAt: number;
  /** When the current open period ends and one probe may run. */
  halfOpenAt: number;
  /** Openings since the breaker last closed: drives the growing open period. */
  openCount: number;
  changedAt: number;
  /** Rate mode: the last window bucket decided (bucket number = Redis time / bucket length). */
  decidedBucket: number;
  /** Isolated for a time: when the isolation ends by itself (Redis time); 0 otherwise. */
  isolatedUntil: number;
  /** While half-open: when the current probe's lease expires (0 when none is held). */
  probeLeaseUntil: number;
  /** While half-open: the token of the caller holding the lease ('' when none). */
  probeOwner: string;
}

export const INITIAL_STATE: SharedBreakerState = {
  state: 'closed',
  epoch: 0,
  version: 0,
  writtenAt: 0,
  incarnation: 0,
  failures: 0,
  calls: 0,
  openedAt: 0,
  halfOpenAt: 0,
  openCount: 0,
  changedAt: 0,
  decidedBucket: 0,
  isolatedUntil: 0,
  probeLeaseUntil: 0,
  probeOwner: '',
};

/** What every script answers: the state after it ran, Redis's clock, and what happened. */
export interface ScriptReply {
  state: SharedBreakerState;
  /** Redis server time when the script ran (ms). */
  now: number;
  /** The state before and why, when the script made a transition. */
  from?: BreakerStateName;
  /** Why the state last changed: this script's change, or the last one before it. */
  reason?: StoreReason;
  /** An operator's words on an isolate or a reset. */
  note?: string;
  /** acquireProbe: whether this caller holds the probe lease. */
  granted?: boolean;
  /** record/releaseProbe: the report named another term or a lease it does not hold; nothing changed. */
  stale?: boolean;
  /** Rate mode: when (Redis time) the next window bucket settles, 0 when the window is empty. */
  decideAt?: number;
}

/** A message on the breaker's channel: the state after a change, and the transition if any. */
export interface StateMessage {
  state: SharedBreakerState;
  now: number;
  from?: BreakerStateName;
  reason?: StoreReason;
  /** An operator's words on an isolate or a reset. */
  note?: string;
}

const isStateName = (value: unknown): value is BreakerStateName =>
  typeof value === 'string' && (BREAKER_STATES as readonly string[]).includes(value);

const NUMBER_FIELDS = [
  'epoch',
  'version',
  'writtenAt',
  'incarnation',
  'failures',
  'calls',
  'openedAt',
  'halfOpenAt',
  'openCount',
  'changedAt',
  'decidedBucket',
  'isolatedUntil',
  'probeLeaseUntil',
] as const;

/** Reads a state object that came from Lua's cjson, refusing anything malformed. */
export function parseSharedState(raw: unknown): SharedBreakerState {
  if (typeof raw !== 'object' || raw === null) throw new Error('breaker state is not an object');
  const record = raw as Record<string, unknown>;
  if (!isStateName(record.state)) throw new Error(`unknown breaker state ${String(record.state)}`);
  const state: SharedBreakerState = { ...INITIAL_STATE, state: record.state };
  for (const field of NUMBER_FIELDS) {
    const value = Number(record[field] ?? 0);
    if (!Number.isFinite(value)) throw new Error(`breaker state field ${field} is not a number`);
    state[field] = value;
  }
  state.probeOwner = typeof record.probeOwner === 'string' ? record.probeOwner : '';
  return state;
}

/**
 * The transition fields of a message or a reply. A reason this version does
 * not know is kept as the note (a store of an older version put an
 * operator's words there), never taken for a reason.
 */
function parseChange(
  record: Record<string, unknown>,
): Pick<StateMessage, 'from' | 'reason' | 'note'> {
  const { from, reason, note } = record;
  const known = isStoreReason(reason);
  const words =
    typeof note === 'string' ? note : typeof reason === 'string' && !known ? reason : undefined;
  return {
    ...(isStateName(from) ? { from } : {}),
    ...(known ? { reason } : {}),
    ...(words === undefined ? {} : { note: words }),
  };
}

const recordOf = (json: string): Record<string, unknown> => {
  const raw: unknown = JSON.parse(json);
  if (typeof raw !== 'object' || raw === null) throw new Error('not a JSON object');
  return raw as Record<string, unknown>;
};

/** Reads a message from a breaker's channel (JSON), refusing anything malformed. */
export function parseStateMessage(json: string): StateMessage {
  const record = recordOf(json);
  return { state: parseSharedState(record.state), now: Number(record.now), ...parseChange(record) };
}

/** Reads a script's reply (JSON), refusing anything malformed. */
export function parseScriptReply(json: string): ScriptReply {
  const record = recordOf(json);
  return {
    state: parseSharedState(record.state),
    now: Number(record.now),
    ...parseChange(record),
    ...(typeof record.granted === 'boolean' ? { granted: record.granted } : {}),
    ...(record.stale === true ? { stale: true } : {}),
    ...(typeof record.decideAt === 'number' ? { decideAt: record.decideAt } : {}),
  };
}

/**
 * Orders two states of one breaker as Redis wrote them: by write time, then
 * by version. Negative when `a` was written before `b`. A state Redis
 * answers with that compares lower than one it gave earlier means Redis
 * went back to an older copy; the writes it makes after that are later
 * again, though their versions may repeat older ones.
 */
export function compareWritten(a: SharedBreakerState, b: SharedBreakerState): number {
  return a.writtenAt - b.writtenAt || a.version - b.version;
}

/** Whether two states say the same in every field. */
export function sameState(a: SharedBreakerState, b: SharedBreakerState): boolean {
  return (Object.keys(a) as (keyof SharedBreakerState)[]).every((field) => a[field] === b[field]);
}

/**
 * Whether `next` tells a replica that knows `current` nothing new: written
 * before it, or the same write. Two different states with one write time
 * and version cannot come from one history; the one heard of last is taken.
 */
export function isStale(next: SharedBreakerState, current: SharedBreakerState): boolean {
  const order = compareWritten(next, current);
  return order < 0 || (order === 0 && sameState(next, current));
}

/**
 * The term of a state: outcomes of calls started in one term count only in
 * that term. A new epoch is a new term; so is a new incarnation, except the
 * first one (a hash created from nothing continues the empty state's term).
 */
export interface Term {
  readonly incarnation: number;
  readonly epoch: number;
}

export const termOf = ({ incarnation, epoch }: SharedBreakerState): Term => ({
  incarnation,
  epoch,
});

/** Whether outcomes observed in `observed` still count in `current`. */
export const sameTerm = (observed: Term, current: Term): boolean =>
  observed.epoch === current.epoch &&
  (observed.incarnation === current.incarnation || observed.incarnation === 0);
