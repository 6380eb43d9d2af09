import { Counter, Gauge, Histogram, register, type Registry } from 'prom-client';
import { BREAKER_STATES } from './breaker-state';
import type {
  BreakerCallOutcome,
  SharedCircuitBreaker,
  TransitionScope,
} from './shared-circuit-breaker';

interface BreakerMetricSet {
  state: Gauge<'breaker' | 'state'>;
  transitions: Counter<'breaker' | 'from' | 'to' | 'scope'>;
  calls: Counter<'breaker' | 'outcome'>;
  duration: Histogram<'breaker' | 'outcome'>;
  storeUp: Gauge<'breaker'>;
  storeSwitches: Counter<'breaker'>;
  storeRoundTrip: Histogram<'breaker'>;
  /** Per breaker: reads its state at scrape time, for the gauges below. */
  watched: Map<string, SharedCircuitBreaker>;
}

/** Store round trips, from 0.25 ms to 1 s: a healthy local Redis answers in well under 1 ms. */
const ROUND_TRIP_BUCKETS_SECONDS = [
  0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];

/** Call durations, from 1 ms to 10 s (the lab's HTTP metrics use the same buckets). */
const DURATION_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const OUTCOMES: readonly BreakerCallOutcome[] = ['success', 'failure', 'rejected', 'probe'];
const SCOPES: readonly TransitionScope[] = ['shared', 'local'];

/** One set per registry, however many breakers a process instruments. */
const sets = new WeakMap<Registry, BreakerMetricSet>();

function metricSet(registry: Registry): BreakerMetricSet {
  let set = sets.get(registry);
  if (set) return set;
  const registers = [registry];
  const watched = new Map<string, SharedCircuitBreaker>();
  set = {
    state: new Gauge({
      name: 'circuit_breaker_state',
      help: 'The state this replica enforces, one-hot: 1 for the current state, 0 for the others.',
      labelNames: ['breaker', 'state'] as const,
      registers,
    }),
    transitions: new Counter({
      name: 'circuit_breaker_transitions_total',
      help:
        'Changes of the state this replica enforces. scope="shared": one transition of the ' +
        "cluster's state in Redis, counted alike by every replica that saw it; " +
        'scope="local": what this replica went through alone (its local breaker while Redis ' +
        'was away, losing or re-joining Redis, catching up on several transitions at once).',
      labelNames: ['breaker', 'from', 'to', 'scope'] as const,
      registers,
    }),
    calls: new Counter({
      name: 'circuit_breaker_calls_total',
      help: 'Calls through the breaker by outcome: success, failure, rejected, or probe (the half-open call).',
      labelNames: ['breaker', 'outcome'] as const,
      registers,
    }),
    duration: new Histogram({
      name: 'circuit_breaker_call_duration_seconds',
      help: 'Duration of calls through the breaker, by outcome.',
      labelNames: ['breaker', 'outcome'] as const,
      buckets: DURATION_BUCKETS_SECONDS,
      registers,
    }),
    storeUp: new Gauge({
      name: 'circuit_breaker_store_up',
      help: '1 while the breaker uses the shared state in Redis, 0 while it runs on its local fallback.',
      labelNames: ['breaker'] as const,
      registers,
    }),
    storeSwitches: new Counter({
      name: 'circuit_breaker_store_switches_total',
      help: 'Times another Redis server started answering for the shared state (a failover, a moved slot).',
      labelNames: ['breaker'] as const,
      registers,
    }),
    storeRoundTrip: new Histogram({
      name: 'circuit_breaker_store_round_trip_seconds',
      help: 'Round trip of the store operations that answered (reads, outcome writes, probe leases).',
      labelNames: ['breaker'] as const,
      buckets: ROUND_TRIP_BUCKETS_SECONDS,
      registers,
    }),
    watched,
  };
  scrapeGauges(registers, watched);
  sets.set(registry, set);
  return set;
}

/**
 * Gauges read from each breaker when Prometheus scrapes: what lasts less than
 * a scrape (a probe lease) or only shows over time (a replica falling behind).
 */
function scrapeGauges(registers: Registry[], watched: Map<string, SharedCircuitBreaker>): void {
  new Gauge({
    name: 'circuit_breaker_probe_lease_expiry_seconds',
    help:
      'When the half-open probe lease ends (Unix seconds, Redis time) and the replica holding it ' +
      '(holder), as this replica knows; 0 and holder="none" while no lease is held.',
    labelNames: ['breaker', 'holder'] as const,
    registers,
    collect() {
      this.reset();
      for (const [name, breaker] of watched) {
        const { probeOwner, probeLeaseUntil, state } = breaker.snapshot().localView;
        const held = state === 'half_open' && probeOwner !== '';
        this.set(
          { breaker: name, holder: held ? (probeOwner.split('#')[0] ?? probeOwner) : 'none' },
          held ? probeLeaseUntil / 1_000 : 0,
        );
      }
    },
  });
  new Gauge({
    name: 'circuit_breaker_store_sync_age_seconds',
    help: 'Seconds since a store operation last answered this replica (its distance from Redis in time).',
    labelNames: ['breaker'] as const,
    registers,
    collect() {
      this.reset();
      for (const [name, breaker] of watched) {
        const at = breaker.snapshot().lastStoreReplyAt;
        if (at !== null) this.set({ breaker: name }, (Date.now() - Date.parse(at)) / 1_000);
      }
    },
  });
  new Gauge({
    name: 'circuit_breaker_view_epochs_behind',
    help:
      "Transitions this replica's view had missed when its last periodic read of Redis caught " +
      'them (0: pub/sub kept it in step).',
    labelNames: ['breaker'] as const,
    registers,
    collect() {
      this.reset();
      for (const [name, breaker] of watched)
        this.set({ breaker: name }, breaker.snapshot().epochsBehind);
    },
  });
  new Gauge({
    name: 'circuit_breaker_isolated_until_seconds',
    help:
      'While isolated: when the isolation ends by itself (Unix seconds, Redis time; +Inf: until ' +
      'a reset) and the reason given; 0 with reason="" while not isolated.',
    labelNames: ['breaker', 'reason'] as const,
    registers,
    collect() {
      this.reset();
      for (const [name, breaker] of watched) {
        const { isolation } = breaker.snapshot();
        if (isolation === null) this.set({ breaker: name, reason: '' }, 0);
        else
          this.set(
            { breaker: name, reason: isolation.reason ?? '' },
            isolation.until === null ? Infinity : Date.parse(isolation.until) / 1_000,
          );
      }
    },
  });
}

/**
 * Exports a breaker's state, transitions, calls and store health on
 * `registry` (prom-client's default registry unless given). Instrumenting
 * several breakers on one registry shares one set of metrics, labelled by
 * breaker name.
 */
export function instrumentBreaker(
  breaker: SharedCircuitBreaker,
  registry: Registry = register,
): void {
  const metrics = metricSet(registry);
  const name = breaker.name;
  const showState = (current: string) => {
    for (const state of BREAKER_STATES)
      metrics.state.set({ breaker: name, state }, state === current ? 1 : 0);
  };
  showState(breaker.state);
  metrics.storeUp.set({ breaker: name }, breaker.storeUp ? 1 : 0);
  for (const outcome of OUTCOMES) metrics.calls.inc({ breaker: name, outcome }, 0);
  // Every series exists from the start, so rate() and increase() see the first transition too.
  for (const from of BREAKER_STATES) {
    for (const to of BREAKER_STATES) {
      if (from === to) continue;
      for (const scope of SCOPES) metrics.transitions.inc({ breaker: name, from, to, scope }, 0);
    }
  }

  breaker.onTransition(({ from, to, scope }) => {
    metrics.transitions.inc({ breaker: name, from, to, scope });
    showState(to);
  });
  breaker.onCall(({ outcome, durationMs }) => {
    metrics.calls.inc({ breaker: name, outcome });
    metrics.duration.observe({ breaker: name, outcome }, durationMs / 1_000);
  });
  breaker.onStoreChange(({ up }) => {
    metrics.storeUp.set({ breaker: name }, up ? 1 : 0);
  });
  metrics.storeSwitches.inc({ breaker: name }, 0);
  breaker.onStoreSwitch(() => {
    metrics.storeSwitches.inc({ breaker: name });
  });
  breaker.onStoreCall(({ durationMs }) => {
    metrics.storeRoundTrip.observe({ breaker: name }, durationMs / 1_000);
  });
  metrics.watched.set(name, breaker);
}
