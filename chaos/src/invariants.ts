import { RECONNECT_MAX_MS, type BreakerStateName } from '@cb-lab/shared-breaker';
import { behaviourAt, MAX_ADDED_LATENCY_MS, type Plan } from './plan';
import type { FunctionCall, Trace, TruthPoint } from './trace';

export type InvariantName =
  | 'open means no calls'
  | 'one probe at a time'
  | 'closes once healthy'
  | 'every replica hears an opening'
  | 'one store budget per call'
  | 'no lease outlives its probe';

export interface InvariantResult {
  name: InvariantName;
  /** How many situations were checked. */
  checked: number;
  violations: string[];
}

/** How late each kind of news may reach a replica, from what the run measured. */
export interface Allowances {
  /** A change announced on the channel. */
  announcedMs: number;
  /** A change nobody was told of (Redis went back): learned on the next read. */
  silentMs: number;
  /** The store budget, as timers on this event loop keep it. */
  storeMs: number;
  /** Healthy and with Redis answering for this long, every replica must be closed. */
  closingMs: number;
}

/**
 * The allowances follow from the design and the event-loop delay measured
 * in the same run, never from a fixed tiny margin:
 * - a message on the channel takes a Redis round trip: 50 ms covers loopback
 *   with room to spare, on top of the latency a `slow` event adds and the
 *   loop's delay;
 * - a silent change is read within one sync interval (or one reconnection) and
 *   one store budget;
 * - once healthy, the breaker may still have to: reconnect, see a hung probe
 *   fail, (rate mode) settle a bucket, sit out one full open period, and
 *   probe; a caller must come along; the news must travel.
 */
export function allowances(plan: Plan, eventLoopMaxMs: number): Allowances {
  const s = plan.settings;
  const loop = eventLoopMaxMs;
  const slowest = plan.redis.some((e) => e.kind === 'slow') ? MAX_ADDED_LATENCY_MS : 0;
  const announcedMs = 50 + slowest + loop;
  const settleMs =
    s.trip.mode === 'rate'
      ? s.trip.windowMs / (s.trip.buckets ?? 10) +
        Math.max(s.flushIntervalMs, s.budgetMs) +
        2 * s.budgetMs
      : 0;
  return {
    announcedMs,
    // Read on the next sync, or on the first read after reconnecting.
    silentMs: Math.max(s.syncIntervalMs, RECONNECT_MAX_MS) + s.budgetMs + announcedMs,
    storeMs: s.budgetMs + loop + 5,
    closingMs:
      RECONNECT_MAX_MS +
      s.budgetMs +
      s.hangMs +
      settleMs +
      s.maxOpenMs +
      s.callerGapMs +
      Math.max(s.syncIntervalMs, s.storeRetryMs) +
      announcedMs,
  };
}

/** Checks every invariant on one run's trace. */
export function checkInvariants(plan: Plan, trace: Trace): InvariantResult[] {
  const allow = allowances(plan, trace.eventLoopMaxMs);
  return [
    openMeansNoCalls(trace, allow),
    oneProbeAtATime(plan, trace),
    closesOnceHealthy(plan, trace, allow),
    everyReplicaHearsAnOpening(trace, allow),
    oneStoreBudgetPerCall(trace, allow),
    noLeaseOutlivesItsProbe(plan, trace, allow),
  ];
}

const MAX_REPORTED = 5;

function result(name: InvariantName, checked: number, violations: string[]): InvariantResult {
  const shown = violations.slice(0, MAX_REPORTED);
  if (violations.length > MAX_REPORTED)
    shown.push(`… and ${violations.length - MAX_REPORTED} more`);
  return { name, checked, violations: shown };
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

/** The truth point in force at `at`, or undefined before the first. */
function truthAt(truth: readonly TruthPoint[], at: number): number {
  let low = 0;
  let high = truth.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if ((truth[mid] as TruthPoint).at <= at) {
      found = mid;
      low = mid + 1;
    } else high = mid - 1;
  }
  return found;
}

/**
 * How long Redis was running (not paused) between two moments. A paused
 * Redis delivers nothing: a message it wrote just before it froze, still in
 * its output buffers, reaches some subscribers only once it runs again, so
 * the time a piece of news may take counts running time only.
 */
function runningMs(trace: Trace, from: number, until: number): number {
  const paused = trace.troubles
    .filter((t) => t.kind === 'pause')
    .reduce((sum, t) => sum + Math.max(0, Math.min(until, t.until) - Math.max(from, t.from)), 0);
  return until - from - paused;
}

/** The moment `allowedMs` of Redis's running time after `from` (time paused does not count). */
function afterRunning(trace: Trace, from: number, allowedMs: number): number {
  let deadline = from + allowedMs;
  for (;;) {
    const extended = from + allowedMs + (deadline - from - runningMs(trace, from, deadline));
    if (extended === deadline) return deadline;
    deadline = extended;
  }
}

/**
 * (a) While Redis holds open, half-open or isolated, no replica that is on
 * the shared state calls the function, except the probe, once the news had
 * time to reach it (time Redis spent paused does not count).
 */
export function openMeansNoCalls(trace: Trace, allow: Allowances): InvariantResult {
  const violations: string[] = [];
  let checked = 0;
  for (const call of trace.calls) {
    if (call.probe || !call.storeUp) continue;
    const at = truthAt(trace.truth, call.start);
    const current = trace.truth[at];
    if (!current || current.state === 'unknown') continue;
    checked += 1;
    if (current.state === 'closed') continue;
    // Since when has Redis not been closed?
    let first = at;
    while (first > 0) {
      const before = trace.truth[first - 1] as TruthPoint;
      if (before.state === 'closed' || before.state === 'unknown') break;
      first -= 1;
    }
    const since = trace.truth[first] as TruthPoint;
    const allowed = since.announced ? allow.announcedMs : allow.silentMs;
    if (runningMs(trace, since.at, call.start) <= allowed) continue;
    // The observer hears of a closing no sooner than the replica that closed it: a closing
    // it heard of shortly after the call may have come before it.
    const next = trace.truth
      .slice(at + 1)
      .find((p) => p.state === 'closed' || p.state === 'unknown');
    if (next && runningMs(trace, call.start, next.at) <= allow.announcedMs) continue;
    violations.push(
      `instance ${call.instance} called the function at ${ms(call.start)} while Redis held ` +
        `${current.state}, not closed since ${ms(since.at)} (${since.announced ? 'announced' : 'silent'}, allowed ${ms(allowed)})`,
    );
  }
  return result('open means no calls', checked, violations);
}

/**
 * (b) At most one probe in flight in the cluster. Two may overlap only when
 * the first outlived its lease, or Redis lost the lease in between (a
 * restart or a return to an older copy).
 */
export function oneProbeAtATime(plan: Plan, trace: Trace): InvariantResult {
  const probes = trace.calls
    .filter((call) => call.probe && call.storeUp)
    .sort((a, b) => a.start - b.start);
  const violations: string[] = [];
  // Only a restart or a return to an older copy can lose a lease; a pause or a slow spell cannot.
  const lostLease = (from: number, to: number) =>
    trace.troubles.some(
      (t) => t.kind !== 'pause' && t.kind !== 'slow' && t.from >= from && t.from <= to,
    );
  probes.forEach((first, i) => {
    for (const second of probes.slice(i + 1)) {
      if (second.start >= first.end) break;
      if (second.start - first.start >= plan.settings.probeLeaseMs) continue;
      if (lostLease(first.start, second.start)) continue;
      violations.push(
        `probes overlap: instance ${first.instance} ${ms(first.start)}–${ms(first.end)} and ` +
          `instance ${second.instance} from ${ms(second.start)}`,
      );
    }
  });
  return result('one probe at a time', probes.length, violations);
}

/** What one instance enforced at `at`, and whether it was on the shared state. */
export function instanceAt(
  trace: Trace,
  instance: number,
  at: number,
): { state: BreakerStateName; storeUp: boolean } {
  let state: BreakerStateName = 'closed';
  for (const t of trace.transitions) {
    if (t.at > at) break;
    if (t.instance === instance) state = t.to;
  }
  let storeUp = false;
  for (const change of trace.storeChanges) {
    if (change.at > at) break;
    if (change.instance === instance) storeUp = change.up;
  }
  return { state, storeUp };
}

/** Spells during which the dependency was healthy and Redis answered, undisturbed. */
export function calmSpells(plan: Plan, trace: Trace): { from: number; until: number }[] {
  const cuts = new Set<number>([0, trace.endedAt]);
  for (const segment of plan.dependency) cuts.add(segment.from).add(segment.until);
  for (const trouble of trace.troubles) cuts.add(trouble.from).add(trouble.until);
  const points = [...cuts].filter((t) => t <= trace.endedAt).sort((a, b) => a - b);
  const calm = (from: number, until: number) => {
    const middle = (from + until) / 2;
    return (
      behaviourAt(plan, middle) === 'healthy' &&
      !trace.troubles.some((t) => t.from < until && t.until > from)
    );
  };
  const spells: { from: number; until: number }[] = [];
  for (let i = 0; i + 1 < points.length; i += 1) {
    const [from, until] = [points[i] as number, points[i + 1] as number];
    if (!calm(from, until)) continue;
    const last = spells.at(-1);
    // A rewind is a moment, not a spell: it starts a new one.
    const rewindAt = trace.troubles.some((t) => t.kind === 'rewind' && t.from === from);
    if (last && last.until === from && !rewindAt) last.until = until;
    else spells.push({ from, until });
  }
  return spells;
}

/**
 * (c) Once the dependency is healthy and Redis answers, every replica is
 * closed, on the shared state, within the closing allowance, and stays so
 * until the calm spell ends.
 */
export function closesOnceHealthy(plan: Plan, trace: Trace, allow: Allowances): InvariantResult {
  const violations: string[] = [];
  let checked = 0;
  for (const spell of calmSpells(plan, trace)) {
    const from = spell.from + allow.closingMs;
    if (from > spell.until) continue;
    checked += 1;
    for (let instance = 0; instance < trace.instances; instance += 1) {
      const seen = instanceAt(trace, instance, from);
      const left =
        trace.transitions.find(
          (t) => t.instance === instance && t.at > from && t.at < spell.until && t.to !== 'closed',
        ) ??
        trace.storeChanges.find(
          (c) => c.instance === instance && c.at > from && c.at < spell.until && !c.up,
        );
      if (seen.state === 'closed' && seen.storeUp && !left) continue;
      violations.push(
        seen.state !== 'closed' || !seen.storeUp
          ? `instance ${instance} was ${seen.state} (${seen.storeUp ? 'on Redis' : 'local'}) at ` +
              `${ms(from)}, ${ms(allow.closingMs)} into a calm spell from ${ms(spell.from)}`
          : `instance ${instance} left closed on Redis at ${ms((left as { at: number }).at)}, ` +
              `in a calm spell from ${ms(spell.from)} to ${ms(spell.until)}`,
      );
    }
  }
  return result('closes once healthy', checked, violations);
}

/** Whether `instance` was on the shared state all through [from, until]. */
function onRedisThroughout(trace: Trace, instance: number, from: number, until: number): boolean {
  if (!instanceAt(trace, instance, from).storeUp) return false;
  return !trace.storeChanges.some(
    (c) => c.instance === instance && c.at > from && c.at <= until && !c.up,
  );
}

/**
 * (d) Every closed→open announced by Redis reaches every replica that was on
 * Redis then: within the allowance, each one enforces it (it rejects; one
 * that already enforced open, say from a newer state it knew before Redis
 * went back, counts as having heard); time Redis spent paused does not
 * count. Returns the slowest arrival seen too.
 */
export function everyReplicaHearsAnOpening(
  trace: Trace,
  allow: Allowances,
): InvariantResult & { slowestMs: number } {
  const violations: string[] = [];
  let checked = 0;
  let slowestMs = 0;
  const openings = trace.truth.filter(
    (p) => p.announced && p.from === 'closed' && p.state === 'open',
  );
  for (const opening of openings) {
    for (let instance = 0; instance < trace.instances; instance += 1) {
      const window = [
        opening.at - allow.announcedMs,
        afterRunning(trace, opening.at, allow.announcedMs),
      ] as const;
      if (!onRedisThroughout(trace, instance, ...window)) continue;
      checked += 1;
      const heard = trace.transitions.find(
        (t) =>
          t.instance === instance &&
          t.at >= window[0] &&
          t.incarnation === opening.incarnation &&
          t.epoch >= opening.epoch,
      );
      // Heard in time: what it enforces at the end of the allowance may already be later news
      // (a short open period, a successful probe).
      if (heard && heard.at <= window[1]) {
        slowestMs = Math.max(slowestMs, heard.at - opening.at);
        continue;
      }
      if (instanceAt(trace, instance, window[1]).state !== 'closed') continue;
      violations.push(
        `instance ${instance} still enforced closed at ${ms(window[1])}, after the opening ` +
          `at ${ms(opening.at)} (epoch ${opening.epoch})` +
          (heard ? `; it heard of it after ${ms(heard.at - opening.at)}` : ''),
      );
    }
  }
  return { ...result('every replica hears an opening', checked, violations), slowestMs };
}

/** (e) No call waits longer than one store budget on Redis. */
export function oneStoreBudgetPerCall(trace: Trace, allow: Allowances): InvariantResult {
  const over = trace.storeWaits.filter((waited) => waited > allow.storeMs);
  const violations = over.map(
    (waited) => `a call waited ${ms(waited)} on Redis (allowed ${ms(allow.storeMs)})`,
  );
  const calls = Object.values(trace.outcomes).reduce((sum, n) => sum + n, 0);
  return result('one store budget per call', calls, violations);
}

/** The calls in a trace that reached the function, by where they were decided. */
export function countCalls(calls: readonly FunctionCall[]) {
  return {
    ran: calls.length,
    probes: calls.filter((c) => c.probe && c.storeUp).length,
    local: calls.filter((c) => !c.storeUp).length,
  };
}

/** A probe lease as Redis held it: who, from when, until when. */
export interface Lease {
  owner: string;
  from: number;
  until: number;
  /** Granted before the observer's eyes (announced), or found in what Redis went back to. */
  announced: boolean;
}

/** The leases Redis held, from the truth points (a lease ends when Redis no longer shows it). */
export function leases(trace: Trace): Lease[] {
  const found: Lease[] = [];
  let current: Lease | undefined;
  for (const point of trace.truth) {
    const owner = point.state === 'half_open' ? point.probeOwner : '';
    if (current && current.owner === owner) continue;
    if (current) {
      current.until = Math.min(current.until, point.at);
      current = undefined;
    }
    if (owner !== '') {
      // Redis lets a lease expire without a word: it ends then, if nothing came before.
      current = {
        owner,
        from: point.at,
        until: Math.min(point.leaseUntil, trace.endedAt),
        announced: point.announced,
      };
      found.push(current);
    }
  }
  return found;
}

/** The instance whose breaker made a lease token (`i<n>#…`). */
const instanceOf = (owner: string): number => Number(/^i(\d+)#/.exec(owner)?.[1] ?? -1);

/**
 * (f) No lease outlives its probe. A lease whose holder probes ends one
 * store budget (and the news) after the probe, or, when Redis did not answer
 * the release within that budget, once the holder hears Redis again (a sync
 * interval or a reconnection at most); a lease nobody probes under
 * (granted to a caller that gave up, or brought back by Redis going back,
 * which the observer finds on reading Redis again) ends once its holder
 * hears of it: a sync interval at most. Time Redis
 * spent paused does not count.
 */
export function noLeaseOutlivesItsProbe(
  plan: Plan,
  trace: Trace,
  allow: Allowances,
): InvariantResult {
  const violations: string[] = [];
  const all = leases(trace);
  const budget = plan.settings.budgetMs;
  for (const lease of all) {
    const instance = instanceOf(lease.owner);
    // A lease found after Redis went back belongs to a probe long over.
    const probe =
      lease.announced &&
      trace.calls.find(
        (c) =>
          c.probe &&
          c.storeUp &&
          c.instance === instance &&
          c.start >= lease.from - allow.announcedMs - budget &&
          c.start <= lease.from + allow.announcedMs,
      );
    // A release Redis did not answer within the budget takes the holder off Redis; the holder
    // sends it again once it hears Redis, as after a silent change.
    const lost =
      probe &&
      trace.storeChanges.find(
        (c) =>
          c.instance === instance &&
          !c.up &&
          c.at >= probe.end &&
          c.at <= probe.end + allow.storeMs,
      );
    const allowed = lost
      ? lost.at + allow.silentMs - lease.from
      : probe
        ? probe.end + budget + allow.announcedMs - lease.from
        : allow.silentMs;
    // A slow Redis still answers within the budget (its added latency is in the allowances).
    const deadline = afterRunning(trace, lease.from, allowed);
    if (lease.until > deadline)
      violations.push(
        `the lease of ${lease.owner} stood from ${ms(lease.from)} to ${ms(lease.until)}, ` +
          (probe
            ? `though its probe ended at ${ms(probe.end)}`
            : 'with no probe running under it') +
          (lost ? ` and its holder lost Redis at ${ms(lost.at)}` : '') +
          ` (allowed until ${ms(deadline)})`,
      );
  }
  return result('no lease outlives its probe', all.length, violations);
}
