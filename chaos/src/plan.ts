import type { ConsecutiveFailures, FailureRate } from '@cb-lab/shared-breaker';
import { Random } from './random';

/** When a pause of Redis starts: at its time, or waiting (a while) for a probe to fall due or to run. */
export type PauseMoment = 'any' | 'probe due' | 'probe';

/** How the protected dependency behaves for a while. */
export type Behaviour = 'healthy' | 'failing' | 'flaky' | 'hanging';

export interface Segment {
  from: number;
  until: number;
  behaviour: Behaviour;
}

/**
 * What is done to Redis, at `at` ms into the run:
 * - `pause`: frozen (`docker pause`) for `ms`, `during` any moment, as a
 *   probe falls due (open, its period about to end), or while a probe runs;
 * - `restart-empty`: killed and started again with no data;
 * - `snapshot` then `restart-from-snapshot`: killed and started again from
 *   what it saved earlier, an older state;
 * - `capture` then `rewind`: the breaker's keys written back as they were,
 *   with no outage at all (a failover to a replica that lagged);
 * - `slow`: every instance's connection `latencyMs` slower each way for
 *   `ms` (a round trip still fits in the store budget, two do not);
 * - `script-flush`: Redis forgets every cached script (`SCRIPT FLUSH`).
 */
export type RedisEvent =
  | { at: number; kind: 'pause'; ms: number; during: PauseMoment }
  | { at: number; kind: 'restart-empty' | 'snapshot' | 'restart-from-snapshot' }
  | { at: number; kind: 'capture' | 'rewind' | 'script-flush' }
  | { at: number; kind: 'slow'; ms: number; latencyMs: number };

export interface ChaosSettings {
  instances: number;
  callersPerInstance: number;
  trip: ConsecutiveFailures | FailureRate;
  openMs: number;
  maxOpenMs: number;
  backoffFactor: number;
  probeLeaseMs: number;
  syncIntervalMs: number;
  storeRetryMs: number;
  /** The store's time budget per operation. */
  budgetMs: number;
  flushIntervalMs: number;
  /** How long a call to a hanging dependency takes before it fails (its timeout). */
  hangMs: number;
  /** Longest pause of a caller between two calls. */
  callerGapMs: number;
}

export interface Plan {
  seed: number;
  durationMs: number;
  settings: ChaosSettings;
  dependency: Segment[];
  redis: RedisEvent[];
}

/** The healthy, undisturbed end of every run, long enough for the breaker to close. */
export const CALM_TAIL_MS = 3_500;
const REDIS_KINDS = [
  'pause',
  'pause',
  'restart-empty',
  'restart-from-snapshot',
  'rewind',
  'slow',
  'script-flush',
] as const;
/** The most a `slow` event adds to each way of a connection. */
export const MAX_ADDED_LATENCY_MS = 45;

/** Draws everything a run does from its seed. */
export function makePlan(seed: number, durationMs: number): Plan {
  const random = new Random(seed);
  const trip: ConsecutiveFailures | FailureRate = random.chance(0.7)
    ? { mode: 'consecutive', threshold: random.int(2, 5) }
    : {
        mode: 'rate',
        threshold: random.pick([0.3, 0.5, 0.55]),
        minCalls: random.int(5, 10),
        windowMs: 1_000,
        buckets: 10,
      };
  const openMs = random.int(150, 400);
  const settings: ChaosSettings = {
    instances: 5,
    callersPerInstance: 3,
    trip,
    openMs,
    maxOpenMs: openMs * 3,
    backoffFactor: 2,
    probeLeaseMs: 3_000,
    syncIntervalMs: 250,
    storeRetryMs: 100,
    budgetMs: 100,
    flushIntervalMs: 50,
    hangMs: 150,
    callerGapMs: 8,
  };

  const calmFrom = Math.max(1_000, durationMs - CALM_TAIL_MS);
  const dependency: Segment[] = [];
  for (let from = 0; from < calmFrom;) {
    const behaviour = random.pick<Behaviour>([
      'healthy',
      'healthy',
      'failing',
      'failing',
      'flaky',
      'hanging',
    ]);
    // Healthy spells are sometimes long enough for the breaker to close during the run.
    const length = behaviour === 'healthy' ? random.int(400, 3_500) : random.int(400, 2_000);
    const until = Math.min(calmFrom, from + length);
    dependency.push({ from, until, behaviour });
    from = until;
  }
  dependency.push({ from: calmFrom, until: durationMs, behaviour: 'healthy' });

  return { seed, durationMs, settings, dependency, redis: redisEvents(random, 500, calmFrom) };
}

/**
 * The Redis events of a run, spread over [start, end): every kind once,
 * pauses twice, in a random order; a snapshot or a capture comes a while
 * before the event that goes back to it.
 */
function redisEvents(random: Random, start: number, end: number): RedisEvent[] {
  const kinds = random.shuffle(REDIS_KINDS);
  const slot = (end - start) / kinds.length;
  const events: RedisEvent[] = [];
  kinds.forEach((kind, i) => {
    const slotStart = start + i * slot;
    const at = Math.round(slotStart + random.int(Math.floor(slot * 0.4), Math.floor(slot * 0.6)));
    switch (kind) {
      case 'pause':
        events.push({
          at,
          kind,
          ms: random.int(300, 1_500),
          during: random.pick<PauseMoment>(['any', 'probe due', 'probe']),
        });
        break;
      case 'restart-empty':
      case 'script-flush':
        events.push({ at, kind });
        break;
      case 'slow':
        events.push({
          at,
          kind,
          ms: random.int(500, 1_500),
          latencyMs: random.int(30, MAX_ADDED_LATENCY_MS),
        });
        break;
      case 'restart-from-snapshot':
        events.push({ at: Math.round(slotStart), kind: 'snapshot' }, { at, kind });
        break;
      case 'rewind':
        events.push({ at: Math.round(slotStart), kind: 'capture' }, { at, kind });
        break;
    }
  });
  return events;
}

/** What the dependency does `elapsedMs` into the run. */
export function behaviourAt(plan: Plan, elapsedMs: number): Behaviour {
  for (const segment of plan.dependency)
    if (elapsedMs >= segment.from && elapsedMs < segment.until) return segment.behaviour;
  return 'healthy';
}

/** One line naming the trip rule, for reports. */
export function describeTrip(trip: ConsecutiveFailures | FailureRate): string {
  return trip.mode === 'consecutive'
    ? `consecutive ${trip.threshold}`
    : `rate ${trip.threshold} of ${trip.minCalls}+`;
}
