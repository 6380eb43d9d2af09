import type { ScenarioRecording, ScenarioReport } from './scenario-report';
import { quantile } from '@cb-lab/load-generator';

const WIDTH = 1000;
const LEFT = 150;
const RIGHT = 20;
const LANE = 22;
const STATE_COLORS: Record<string, string> = {
  closed: '#2e7d32',
  open: '#c62828',
  half_open: '#f9a825',
  isolated: '#6a1b9a',
};

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Per-second buckets over the recording. */
const secondsOf = (durationMs: number): number[] =>
  Array.from({ length: Math.ceil(durationMs / 1_000) }, (_, i) => i);

/**
 * The scenario as one SVG a person can open in a browser: the phases, each
 * replica's breaker state over time, the requests that reached the gateway
 * each second, and order latency (p50 and p99) each second.
 */
export function renderScenarioChart(recording: ScenarioRecording, report: ScenarioReport): string {
  const plotWidth = WIDTH - LEFT - RIGHT;
  const x = (ms: number): number =>
    LEFT + (Math.min(ms, recording.durationMs) / recording.durationMs) * plotWidth;
  const parts: string[] = [];
  let y = 30;
  parts.push(
    `<text x="${LEFT}" y="20" font-size="15" font-weight="bold">${escape(`Scenario ${recording.scenario}`)}</text>`,
  );

  // Phases.
  for (const phase of recording.phases) {
    const width = Math.max(1, x(phase.endMs) - x(phase.startMs));
    parts.push(
      `<rect x="${x(phase.startMs).toFixed(1)}" y="${y}" width="${width.toFixed(1)}" height="${LANE}" fill="${phase.faulty ? '#ffcdd2' : '#e8f5e9'}" stroke="#999" stroke-width="0.5"/>`,
      `<text x="${(x(phase.startMs) + 4).toFixed(1)}" y="${y + 15}" font-size="11">${escape(phase.name)}</text>`,
    );
  }
  parts.push(`<text x="10" y="${y + 15}" font-size="12">gateway phase</text>`);
  y += LANE + 8;

  // Breaker state per replica.
  for (const timeline of report.replicas) {
    timeline.changes.forEach((change, i) => {
      const end = timeline.changes[i + 1]?.atMs ?? recording.durationMs;
      const width = Math.max(1, x(end) - x(change.atMs));
      parts.push(
        `<rect class="state ${change.state}" x="${x(change.atMs).toFixed(1)}" y="${y}" width="${width.toFixed(1)}" height="${LANE - 4}" fill="${STATE_COLORS[change.state] ?? '#9e9e9e'}"><title>${escape(`${timeline.replica}: ${change.state}`)}</title></rect>`,
      );
    });
    parts.push(`<text x="10" y="${y + 13}" font-size="12">${escape(timeline.replica)}</text>`);
    y += LANE;
  }
  y += 6;
  let legendX = LEFT;
  for (const [state, color] of Object.entries(STATE_COLORS)) {
    parts.push(
      `<rect x="${legendX}" y="${y}" width="12" height="12" fill="${color}"/>`,
      `<text x="${legendX + 16}" y="${y + 10}" font-size="11">${state}</text>`,
    );
    legendX += 90;
  }
  y += 26;

  // Requests reaching the gateway, per second.
  const buckets = secondsOf(recording.durationMs);
  const reachedAt = (ms: number) => {
    let value = recording.counters[0]?.gatewayReached ?? 0;
    for (const sample of recording.counters) if (sample.atMs <= ms) value = sample.gatewayReached;
    return value;
  };
  const hits = buckets.map((s) => Math.max(0, reachedAt((s + 1) * 1_000) - reachedAt(s * 1_000)));
  const hitsHeight = 80;
  const maxHits = Math.max(1, ...hits);
  hits.forEach((count, s) => {
    const height = (count / maxHits) * hitsHeight;
    parts.push(
      `<rect class="gateway-hits" x="${x(s * 1_000).toFixed(1)}" y="${(y + hitsHeight - height).toFixed(1)}" width="${Math.max(1, x((s + 1) * 1_000) - x(s * 1_000) - 1).toFixed(1)}" height="${height.toFixed(1)}" fill="#1565c0"><title>${count} at ${s}s</title></rect>`,
    );
  });
  parts.push(
    `<text x="10" y="${y + 15}" font-size="12">gateway hits/s</text>`,
    `<text x="10" y="${y + 30}" font-size="11" fill="#555">max ${maxHits}</text>`,
    `<line x1="${LEFT}" y1="${y + hitsHeight}" x2="${WIDTH - RIGHT}" y2="${y + hitsHeight}" stroke="#999"/>`,
  );
  y += hitsHeight + 16;

  // Order latency per second.
  const latencyHeight = 100;
  const perSecond = buckets.map((s) => {
    const latencies = recording.orders
      .filter((o) => o.sentAtMs >= s * 1_000 && o.sentAtMs < (s + 1) * 1_000)
      .map((o) => o.latencyMs)
      .sort((a, b) => a - b);
    return { s, p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
  });
  const maxLatency = Math.max(1, ...perSecond.map((p) => (Number.isNaN(p.p99) ? 0 : p.p99)));
  const line = (key: 'p50' | 'p99', color: string) => {
    const points = perSecond
      .filter((p) => !Number.isNaN(p[key]))
      .map(
        (p) =>
          `${x(p.s * 1_000 + 500).toFixed(1)},${(y + latencyHeight - (p[key] / maxLatency) * latencyHeight).toFixed(1)}`,
      );
    return `<polyline class="latency ${key}" points="${points.join(' ')}" fill="none" stroke="${color}" stroke-width="1.5"/>`;
  };
  parts.push(
    line('p99', '#c62828'),
    line('p50', '#2e7d32'),
    `<text x="10" y="${y + 15}" font-size="12">order latency</text>`,
    `<text x="10" y="${y + 30}" font-size="11" fill="#c62828">p99</text>`,
    `<text x="40" y="${y + 30}" font-size="11" fill="#2e7d32">p50</text>`,
    `<text x="10" y="${y + 45}" font-size="11" fill="#555">max ${Math.round(maxLatency)} ms</text>`,
    `<line x1="${LEFT}" y1="${y + latencyHeight}" x2="${WIDTH - RIGHT}" y2="${y + latencyHeight}" stroke="#999"/>`,
  );
  y += latencyHeight + 6;

  // Time axis.
  const step = recording.durationMs > 120_000 ? 30 : recording.durationMs > 30_000 ? 10 : 5;
  for (let s = 0; s * 1_000 <= recording.durationMs; s += step) {
    parts.push(
      `<text x="${x(s * 1_000).toFixed(1)}" y="${y + 12}" font-size="10" text-anchor="middle">${s}s</text>`,
    );
  }
  y += 20;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
}
