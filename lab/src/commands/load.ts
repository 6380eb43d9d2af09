import { endpointsFrom, ENDPOINT_HELP, parse, parseDuration, parseNumber } from '../args';
import { stdout, type Command, type Output } from '../command';
import {
  formatMs,
  OutcomeTally,
  RecentLatencies,
  runLoad,
  type OrderSample,
} from '@cb-lab/load-generator';

/** The progress line's window: rate and latency over the last this many ms. */
const PROGRESS_WINDOW_MS = 5_000;

/**
 * Prints a progress line every second: rate and latency over the last five seconds, outcomes so
 * far. It keeps the last five seconds of samples and a tally, so a long run stays small.
 */
export function progressReporter(out: Output, startedAt = Date.now()) {
  const recent = new RecentLatencies(PROGRESS_WINDOW_MS);
  const outcomes = new OutcomeTally();
  const timer = setInterval(() => {
    const elapsedMs = Date.now() - startedAt;
    const latency = recent.summary(elapsedMs);
    const windowSeconds = Math.min(PROGRESS_WINDOW_MS / 1_000, Math.max(elapsedMs / 1_000, 1));
    out.progress(
      `t=${(elapsedMs / 1_000).toFixed(0)}s  ${(latency.count / windowSeconds).toFixed(1)}/s  ` +
        `p50 ${formatMs(latency.p50)}  p95 ${formatMs(latency.p95)}  p99 ${formatMs(latency.p99)}  ${outcomes.describe()}`,
    );
  }, 1_000);
  return {
    record: (sample: OrderSample) => {
      recent.record(sample.sentAtMs, sample.latencyMs);
      outcomes.record(sample);
    },
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
    const { latency, outcomes } = result;
    stdout.line(
      `${result.orders} orders in ${(result.durationMs / 1_000).toFixed(1)}s: ${outcomes.describe()}`,
    );
    stdout.line(
      `latency p50 ${formatMs(latency.p50)}  p95 ${formatMs(latency.p95)}  p99 ${formatMs(latency.p99)}  max ${formatMs(latency.max)}`,
    );
    if (result.skipped > 0)
      stdout.line(`${result.skipped} beats skipped: too many orders were waiting for an answer`);
    if (outcomes.of('error') === result.orders) {
      stdout.line(
        `no order got an answer from ${endpoints.orders}: is the stack up? (docker compose up --build --wait)`,
      );
    }
  },
};
