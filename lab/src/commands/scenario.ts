import { presetListSchema, scenarioStatusSchema } from '@cb-lab/contracts';
import { writeFile } from 'node:fs/promises';
import { sampleValue } from '@cb-lab/shared';
import { endpointsFrom, ENDPOINT_HELP, parse, parseDuration, parseNumber } from '../args';
import { stdout, type Command } from '../command';
import { runLoad, type OrderSample } from '@cb-lab/load-generator';
import { renderScenarioChart } from '../scenario-chart';
import {
  analyze,
  formatReport,
  type CounterSample,
  type Phase,
  type ScenarioRecording,
  type StateSample,
} from '../scenario-report';
import { callJson, fetchMetrics, LabError, type StackEndpoints } from '../stack';
import { progressReporter } from './load';
import { readCircuits, type GatewayFaults } from './status';

const isFaulty = (faults: GatewayFaults): boolean =>
  faults.down ||
  faults.errorRate > 0 ||
  faults.timeoutRate > 0 ||
  faults.latencyMs > 0 ||
  faults.jitterMs > 0;

/** Reads the counters the report needs: requests that reached the gateway, fallbacks on every replica. */
async function readCounters(endpoints: StackEndpoints, atMs: number): Promise<CounterSample> {
  const [gateway, ...payments] = await Promise.all([
    fetchMetrics('payment-gateway', endpoints.gateway),
    ...endpoints.payments.map((url) => fetchMetrics('payments', url)),
  ]);
  return {
    atMs,
    gatewayReached: sampleValue(gateway, 'gateway_charges_total') ?? 0,
    fallbacks: payments.reduce(
      (sum, text) => sum + (sampleValue(text, 'payments_fallback_total') ?? 0),
      0,
    ),
  };
}

/** Takes a sample every `everyMs` until `signal` aborts; a failed sample is skipped, not fatal. */
async function sampleEvery(
  everyMs: number,
  signal: AbortSignal,
  take: () => Promise<void>,
): Promise<void> {
  while (!signal.aborted) {
    const next = Date.now() + everyMs;
    await take().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, next - Date.now())));
  }
}

export interface ScenarioRunOptions {
  endpoints: StackEndpoints;
  preset: string;
  scale: number;
  ratePerSecond: number;
  /** How long load and sampling go on after the gateway healed, to see the breaker close. */
  settleMs: number;
}

/**
 * Runs a gateway scenario under load and records what every replica's
 * breaker did, what reached the gateway and what orders saw.
 */
export async function recordScenario({
  endpoints,
  preset,
  scale,
  ratePerSecond,
  settleMs,
}: ScenarioRunOptions): Promise<ScenarioRecording> {
  const presets = await callJson(
    'payment-gateway',
    `${endpoints.gateway}/admin/scenarios`,
    presetListSchema,
    { token: endpoints.adminToken },
  );
  if (!presets.presets.some((p) => p.name === preset)) {
    throw new LabError(
      `unknown scenario ${JSON.stringify(preset)}; known: ${presets.presets.map((p) => p.name).join(', ')}`,
    );
  }
  const replicas = (await readCircuits(endpoints)).map((c) => c.replica);

  const started = Date.now();
  const status = await callJson(
    'payment-gateway',
    `${endpoints.gateway}/admin/scenario`,
    scenarioStatusSchema,
    {
      method: 'POST',
      body: JSON.stringify({ preset, scale }),
      token: endpoints.adminToken,
    },
  );
  if (!status.running) throw new LabError(`the gateway did not start scenario ${preset}`);
  let offset = 0;
  const phases: Phase[] = status.steps.map((step) => {
    const phase = {
      name: step.name,
      startMs: offset,
      endMs: offset + step.durationMs,
      faulty: isFaulty(step.faults),
    };
    offset = phase.endMs;
    return phase;
  });
  phases.push({ name: 'after', startMs: offset, endMs: offset + settleMs, faulty: false });
  const durationMs = offset + settleMs;

  const states: StateSample[] = [];
  const counters: CounterSample[] = [];
  const orders: OrderSample[] = [];
  const stopSampling = new AbortController();
  const progress = progressReporter(stdout, started);
  // States and counters four times a second: the phase boundaries and the transitions need it.
  const sampling = sampleEvery(250, stopSampling.signal, async () => {
    const atMs = Date.now() - started;
    const [circuits, counter] = await Promise.all([
      readCircuits(endpoints),
      readCounters(endpoints, atMs),
    ]);
    states.push({ atMs, states: circuits.map((c) => c.state) });
    counters.push(counter);
  });
  const interrupt = new AbortController();
  const onInterrupt = () => {
    interrupt.abort();
  };
  process.once('SIGINT', onInterrupt);
  try {
    await runLoad({
      ordersUrl: endpoints.orders,
      ratePerSecond,
      durationMs,
      signal: interrupt.signal,
      onSample: (sample) => {
        orders.push(sample);
        progress.record(sample);
      },
    });
  } finally {
    process.off('SIGINT', onInterrupt);
    progress.stop();
    stopSampling.abort();
    await sampling;
    counters.push(
      await readCounters(endpoints, Date.now() - started).catch(
        () => counters[counters.length - 1] ?? { atMs: 0, gatewayReached: 0, fallbacks: 0 },
      ),
    );
  }
  if (interrupt.signal.aborted) {
    await callJson('payment-gateway', `${endpoints.gateway}/admin/scenario`, scenarioStatusSchema, {
      method: 'DELETE',
      token: endpoints.adminToken,
    });
  }
  return {
    scenario: preset,
    replicas,
    phases,
    states,
    counters,
    orders,
    durationMs: Math.min(durationMs, Date.now() - started),
  };
}

export const scenarioCommand: Command = {
  name: 'scenario',
  summary: 'run a gateway fault scenario under load, then print a report and write a chart',
  help: `Usage: npm run lab -- scenario NAME [--rate N] [--scale X] [--settle D] [--chart FILE] [options]

Starts the gateway scenario NAME (outage, brownout, flapping, timeouts; see
GET /admin/scenarios on the gateway), sends orders at N per second (default
10) while it runs and for D after it ends (default 15s, to see the breaker
close), samples every replica's breaker four times a second, then prints:
per phase, the orders and their outcomes, latency p50/p95/p99, the requests
that reached the gateway and the fallbacks used; each replica's state
timeline; the time every replica took to open and to close again. The same
report is drawn as an SVG chart (default scenario-NAME.svg).

  --rate N       orders per second, 0.1 to 1000
  --scale X      multiplies every step's duration (0.1 runs a 90 s outage in 9 s)
  --settle D     how long to go on after the gateway healed, e.g. 20s
  --chart FILE   where to write the SVG chart
${ENDPOINT_HELP}`,
  async run(argv) {
    const { values, positionals } = parse(
      'scenario',
      argv,
      {
        rate: { type: 'string' },
        scale: { type: 'string' },
        settle: { type: 'string' },
        chart: { type: 'string' },
      },
      { min: 1, max: 1 },
    );
    const [preset = ''] = positionals;
    const recording = await recordScenario({
      endpoints: endpointsFrom(values),
      preset,
      scale: parseNumber('--scale', values.scale ?? '1', 0.001, 100),
      ratePerSecond: parseNumber('--rate', values.rate ?? '10', 0.1, 1_000),
      settleMs: parseDuration('--settle', values.settle ?? '15s'),
    });
    const report = analyze(recording);
    stdout.line(formatReport(recording, report));
    const chartFile = values.chart ?? `scenario-${preset}.svg`;
    await writeFile(chartFile, renderScenarioChart(recording, report));
    stdout.line(`\nChart written to ${chartFile}`);
  },
};
