import { endpointsFrom, ENDPOINT_HELP, parse, parseDuration, parseNumber } from '../args';
import { stdout, type Command, type Output } from '../command';
import { formatMs, runLoad, summarize, type OrderSample } from '@cb-lab/load-generator';

/** Counts outcomes and failure reasons, e.g. `paid 120 · payment_failed 30 (circuit_open 28, gateway_unavailable 2)`. */
export function describeOutcomes(samples: readonly OrderSample[]): string {
  const outcomes = new Map<string, number>();
  const reasons = new Map<string, number>();
  for (const sample of samples) {
    outcomes.set(sample.outcome, (outcomes.get(sample.outcome) ?? 0) + 1);
    if (sample.failureReason !== undefined)
      reasons.set(sample.failureReason, (reasons.get(sample.failureReason) ?? 0) + 1);
  }
  const reasonText = [...reasons].map(([reason, count]) => `${reason} ${count}`).join(', ');
  return [...outcomes]
    .map(
      ([outcome, count]) =>
        `${outcome} ${count}${outcome === 'payment_failed' && reasonText !== '' ? ` (${reasonText})` : ''}`,
    )
    .join(' · ');
}

/** Prints a progress line every second: rate and latency over the last five seconds, outcomes so far. */
export function progressReporter(out: Output, startedAt = Date.now()) {
  const samples: OrderSample[] = [];
  const timer = setInterval(() => {
    const elapsedMs = Date.now() - startedAt;
    const recent = samples.filter((s) => s.sentAtMs >= elapsedMs - 5_000);
    const latency = summarize(recent.map((s) => s.latencyMs));
    out.progress(
      `t=${(elapsedMs / 1_000).toFixed(0)}s  ${(recent.length / Math.min(5, Math.max(elapsedMs / 1_000, 1))).toFixed(1)}/s  ` +
        `p50 ${formatMs(latency.p50)}  p95 ${formatMs(latency.p95)}  p99 ${formatMs(latency.p99)}  ${describeOutcomes(samples)}`,
    );
  }, 1_000);
  return {
    record: (sample: OrderSample) => samples.push(sample),
    stop: () => {
      clearInterval(timer);
    },
  };
}

export const loadCommand: Command = {
  name: 'load',
  summary: 'send orders at a steady rate, with a live progress line',
  help: `Usage: npm run lab -- load [--rate N] [--duration D] [options]

Sends orders to orders at N per second (default 10) for D (default 30s),
on a fixed schedule whatever the answers take. Every second it prints the
rate and p50/p95/p99 latency of the last five seconds and the outcomes so
far; at the end, a summary. Ctrl-C stops early and still prints it.

  --rate N         orders per second, 0.1 to 1000
  --duration D     e.g. 30s, 2m
${ENDPOINT_HELP}`,
  async run(argv) {
    const { values } = parse('load', argv, {
      rate: { type: 'string' },
      duration: { type: 'string' },
    });
    const rate = parseNumber('--rate', values.rate ?? '10', 0.1, 1_000);
    const durationMs = parseDuration('--duration', values.duration ?? '30s');
    const endpoints = endpointsFrom(values);
    const stop = new AbortController();
    const onInterrupt = () => {
      stop.abort();
    };
    process.once('SIGINT', onInterrupt);
    const progress = progressReporter(stdout);
    const result = await runLoad({
      ordersUrl: endpoints.orders,
      ratePerSecond: rate,
      durationMs,
      signal: stop.signal,
      onSample: progress.record,
    });
    progress.stop();
    process.off('SIGINT', onInterrupt);
    const latency = summarize(result.samples.map((s) => s.latencyMs));
    stdout.line(
      `${result.samples.length} orders in ${(result.durationMs / 1_000).toFixed(1)}s: ${describeOutcomes(result.samples)}`,
    );
    stdout.line(
      `latency p50 ${formatMs(latency.p50)}  p95 ${formatMs(latency.p95)}  p99 ${formatMs(latency.p99)}  max ${formatMs(latency.max)}`,
    );
    if (result.skipped > 0)
      stdout.line(`${result.skipped} beats skipped: too many orders were waiting for an answer`);
    if (result.samples.every((s) => s.outcome === 'error')) {
      stdout.line(
        `no order got an answer from ${endpoints.orders}: is the stack up? (docker compose up --build --wait)`,
      );
    }
  },
};
