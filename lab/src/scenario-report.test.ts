import { renderScenarioChart } from './scenario-chart';
import { analyze, formatReport, type ScenarioRecording } from './scenario-report';

/** Three replicas through an outage: open after the fault, closed after healing (times in ms). */
const recording: ScenarioRecording = {
  scenario: 'outage',
  replicas: ['r1', 'r2', 'r3'],
  phases: [
    { name: 'healthy', startMs: 0, endMs: 2_000, faulty: false },
    { name: 'down', startMs: 2_000, endMs: 5_000, faulty: true },
    { name: 'healthy', startMs: 5_000, endMs: 7_000, faulty: false },
    { name: 'after', startMs: 7_000, endMs: 8_000, faulty: false },
  ],
  states: [
    { atMs: 0, states: ['closed', 'closed', 'closed'] },
    { atMs: 2_250, states: ['open', 'open', 'closed'] },
    { atMs: 2_500, states: ['open', 'open', 'open'] },
    { atMs: 5_500, states: ['closed', 'open', 'open'] },
    { atMs: 5_750, states: ['closed', 'closed', 'closed'] },
  ],
  counters: [
    { atMs: 0, gatewayReached: 100, fallbacks: 0 },
    { atMs: 2_000, gatewayReached: 120, fallbacks: 0 },
    { atMs: 5_000, gatewayReached: 126, fallbacks: 40 },
    { atMs: 7_000, gatewayReached: 146, fallbacks: 40 },
    { atMs: 8_000, gatewayReached: 156, fallbacks: 40 },
  ],
  orders: [
    { sentAtMs: 100, latencyMs: 10, outcome: 'paid' },
    {
      sentAtMs: 2_100,
      latencyMs: 1_000,
      outcome: 'payment_failed',
      failureReason: 'gateway_unavailable',
    },
    { sentAtMs: 3_000, latencyMs: 2, outcome: 'payment_failed', failureReason: 'circuit_open' },
    { sentAtMs: 6_000, latencyMs: 12, outcome: 'paid' },
  ],
  durationMs: 8_000,
};

describe('scenario report', () => {
  const report = analyze(recording);

  it('counts orders, latency, gateway hits and fallbacks per phase', () => {
    expect(
      report.phases.map((p) => [p.phase.name, p.orders, p.gatewayReached, p.fallbacks]),
    ).toEqual([
      ['healthy', 1, 20, 0],
      ['down', 2, 6, 40],
      ['healthy', 1, 20, 0],
      ['after', 0, 10, 0],
    ]);
    expect(report.phases[1]?.outcomes).toEqual({ payment_failed: 2 });
    expect(report.phases[1]?.latency.p99).toBe(1_000);
  });

  it('measures each replica’s time to open after the fault and to close after healing', () => {
    expect(report.replicas.map((r) => [r.replica, r.timeToOpenMs, r.timeToCloseMs])).toEqual([
      ['r1', 250, 500],
      ['r2', 250, 750],
      ['r3', 500, 750],
    ]);
    expect(report.replicas[0]?.changes).toEqual([
      { atMs: 0, state: 'closed' },
      { atMs: 2_250, state: 'open' },
      { atMs: 5_500, state: 'closed' },
    ]);
  });

  it('prints the phases, the timelines and the times to open and close', () => {
    const text = formatReport(recording, report);
    expect(text).toContain('Scenario outage: 4 orders over 8.0s');
    expect(text).toMatch(/down\s+2\.0s\s+5\.0s\s+2\s+0\s+0\s+2\s+0/);
    expect(text).toContain('r1: 0.0s closed → 2.3s open → 5.5s closed');
    expect(text).toContain('Time to open after the first fault: r1 0.3s, r2 0.3s, r3 0.5s');
    expect(text).toContain('Time to close after the gateway healed: r1 0.5s, r2 0.8s, r3 0.8s');
  });

  it('draws the phases, a state lane per replica, gateway hits and latency as SVG', () => {
    const svg = renderScenarioChart(recording, report);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.match(/class="state open"/g)).toHaveLength(3);
    expect(svg).toContain('<title>r3: open</title>');
    expect(svg.match(/class="gateway-hits"/g)).toHaveLength(8);
    expect(svg).toContain('class="latency p99"');
    expect(svg).toContain('>down</text>');
  });
});
