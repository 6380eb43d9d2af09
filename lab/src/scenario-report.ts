import type { OrderSample } from '@cb-lab/load-generator';
import { formatMs, summarize, type LatencySummary } from '@cb-lab/load-generator';
import { table } from './table';

/** One step of the gateway's scenario, placed on the recording's clock (ms since it started). */
export interface Phase {
  name: string;
  startMs: number;
  endMs: number;
  /** True when the step injects any fault. */
  faulty: boolean;
}

/** The state each payments replica reported at one moment. */
export interface StateSample {
  atMs: number;
  states: readonly string[];
}

/** Cumulative counters read at one moment. */
export interface CounterSample {
  atMs: number;
  /** Requests that reached the gateway's charge endpoint, whatever their outcome. */
  gatewayReached: number;
  /** Payments answered by a fallback, summed over replicas. */
  fallbacks: number;
}

export interface ScenarioRecording {
  scenario: string;
  replicas: readonly string[];
  phases: readonly Phase[];
  states: readonly StateSample[];
  counters: readonly CounterSample[];
  orders: readonly OrderSample[];
  durationMs: number;
}

export interface PhaseFigures {
  phase: Phase;
  orders: number;
  outcomes: Record<string, number>;
  latency: LatencySummary;
  gatewayReached: number;
  fallbacks: number;
}

export interface ReplicaTimeline {
  replica: string;
  /** Each change of state: when and to what (the first entry is the state at the start). */
  changes: { atMs: number; state: string }[];
  /** From the first faulty phase's start to this replica's first `open`; undefined if it never opened. */
  timeToOpenMs: number | undefined;
  /** From the end of the last faulty phase to this replica's first `closed` after it. */
  timeToCloseMs: number | undefined;
}

export interface ScenarioReport {
  phases: PhaseFigures[];
  replicas: ReplicaTimeline[];
}

/** The counter value at `atMs`: the last sample taken at or before it (the first one before any). */
function counterAt(samples: readonly CounterSample[], atMs: number): CounterSample | undefined {
  let found = samples[0];
  for (const sample of samples) {
    if (sample.atMs > atMs) break;
    found = sample;
  }
  return found;
}

export function analyze(recording: ScenarioRecording): ScenarioReport {
  const phases = recording.phases.map((phase): PhaseFigures => {
    const orders = recording.orders.filter(
      (o) => o.sentAtMs >= phase.startMs && o.sentAtMs < phase.endMs,
    );
    const outcomes: Record<string, number> = {};
    for (const order of orders) outcomes[order.outcome] = (outcomes[order.outcome] ?? 0) + 1;
    const [start, end] = [
      counterAt(recording.counters, phase.startMs),
      counterAt(recording.counters, phase.endMs),
    ];
    return {
      phase,
      orders: orders.length,
      outcomes,
      latency: summarize(orders.map((o) => o.latencyMs)),
      gatewayReached: (end?.gatewayReached ?? 0) - (start?.gatewayReached ?? 0),
      fallbacks: (end?.fallbacks ?? 0) - (start?.fallbacks ?? 0),
    };
  });

  const faulty = recording.phases.filter((phase) => phase.faulty);
  const faultStart = faulty[0]?.startMs;
  const healedAt = faulty[faulty.length - 1]?.endMs;
  const replicas = recording.replicas.map((replica, index): ReplicaTimeline => {
    const changes: { atMs: number; state: string }[] = [];
    for (const sample of recording.states) {
      const state = sample.states[index];
      if (state !== undefined && state !== changes[changes.length - 1]?.state)
        changes.push({ atMs: sample.atMs, state });
    }
    const firstAfter = (from: number | undefined, state: string) =>
      from === undefined
        ? undefined
        : changes.find((c) => c.atMs >= from && c.state === state)?.atMs;
    const openedAt = firstAfter(faultStart, 'open');
    const closedAt = firstAfter(healedAt, 'closed');
    return {
      replica,
      changes,
      timeToOpenMs:
        openedAt === undefined || faultStart === undefined ? undefined : openedAt - faultStart,
      timeToCloseMs:
        closedAt === undefined || healedAt === undefined ? undefined : closedAt - healedAt,
    };
  });
  return { phases, replicas };
}

const seconds = (ms: number): string => `${(ms / 1_000).toFixed(1)}s`;

/** The report as text, for the terminal. */
export function formatReport(recording: ScenarioRecording, report: ScenarioReport): string {
  const lines: string[] = [
    `Scenario ${recording.scenario}: ${recording.orders.length} orders over ${seconds(recording.durationMs)}`,
    '',
  ];
  lines.push(
    table(
      [
        'phase',
        'from',
        'to',
        'orders',
        'paid',
        'pending',
        'failed',
        'errors',
        'p50',
        'p95',
        'p99',
        'gateway hits',
        'fallbacks',
      ],
      report.phases.map(({ phase, orders, outcomes, latency, gatewayReached, fallbacks }) => [
        phase.name,
        seconds(phase.startMs),
        seconds(phase.endMs),
        String(orders),
        String(outcomes.paid ?? 0),
        String(outcomes.payment_pending ?? 0),
        String(outcomes.payment_failed ?? 0),
        String((outcomes.error ?? 0) + (outcomes.rejected ?? 0)),
        formatMs(latency.p50),
        formatMs(latency.p95),
        formatMs(latency.p99),
        String(gatewayReached),
        String(fallbacks),
      ]),
    ),
  );
  lines.push('', 'Breaker state per replica (time since the scenario started):');
  for (const timeline of report.replicas) {
    lines.push(
      `  ${timeline.replica}: ${timeline.changes.map((c) => `${seconds(c.atMs)} ${c.state}`).join(' → ')}`,
    );
  }
  lines.push('');
  const open = report.replicas.map(
    (r) => `${r.replica} ${r.timeToOpenMs === undefined ? 'never' : seconds(r.timeToOpenMs)}`,
  );
  const close = report.replicas.map(
    (r) => `${r.replica} ${r.timeToCloseMs === undefined ? 'not yet' : seconds(r.timeToCloseMs)}`,
  );
  lines.push(`Time to open after the first fault: ${open.join(', ')}`);
  lines.push(`Time to close after the gateway healed: ${close.join(', ')}`);
  return lines.join('\n');
}
