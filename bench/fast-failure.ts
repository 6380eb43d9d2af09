/**
 * Fast failure: order latency on the compose stack while the gateway stops
 * answering (every charge hangs until payments' 1 s timeout), with the shared
 * breaker and with BREAKER_ENABLED=false, against the healthy latency. Both
 * stacks run at once and take turns, so they share the same machine state.
 *
 *   npm run bench:fast-failure      (BENCH_RATE=20 orders/s, BENCH_OUTAGE_MS=30000)
 */
import { type Stack } from '@cb-lab/testing';
import { type OrderSample } from '@cb-lab/load-generator';
import { summarize } from '@cb-lab/load-generator';
import { renderLatencyChart } from './chart';
import { describeMachine } from './machine';
import { writeChart, writeSection } from './report';
import { log, runBenchmark } from './run';
import { loadSamples, stackRedisVersion, startBenchStacks } from './stack-bench';

const RATE = Number(process.env.BENCH_RATE ?? 20);
const HEALTHY_MS = Number(process.env.BENCH_HEALTHY_MS ?? 15_000);
const OUTAGE_MS = Number(process.env.BENCH_OUTAGE_MS ?? 30_000);
/** payments' GATEWAY_TIMEOUT_MS in docker-compose.yml: what an unanswered charge costs. */
const GATEWAY_TIMEOUT_MS = 1_000;
const SETTLED_AFTER_MS = GATEWAY_TIMEOUT_MS + 1_000;

const load = async (stack: Stack, durationMs: number): Promise<OrderSample[]> =>
  loadSamples({ ordersUrl: stack.orders, ratePerSecond: RATE, durationMs });

/** The slowest order sent in each second of the phase. */
const slowestPerSecond = (samples: readonly OrderSample[], durationMs: number): number[] =>
  Array.from({ length: Math.ceil(durationMs / 1_000) }, (_, second) => {
    const inSecond = samples
      .filter((s) => Math.floor(s.sentAtMs / 1_000) === second)
      .map((s) => s.latencyMs);
    return inSecond.length === 0 ? Number.NaN : summarize(inSecond).max;
  });

async function main(): Promise<void> {
  const stacks = await startBenchStacks(log);
  const subjects: [string, Stack][] = [
    ['shared breaker', stacks.withBreaker],
    ['no breaker', stacks.withoutBreaker],
  ];
  const healthy = new Map<string, OrderSample[]>();
  const outage = new Map<string, OrderSample[]>();
  let machine: string;
  try {
    machine = describeMachine(await stackRedisVersion(stacks.withBreaker));
    log(`Fast failure, ${RATE} orders/s, on ${machine}`);
    for (const [name, stack] of subjects) {
      log(`${name}: warming up, then ${HEALTHY_MS / 1_000} s healthy…`);
      await load(stack, 3_000);
      healthy.set(name, await load(stack, HEALTHY_MS));
    }
    for (const [name, stack] of subjects) {
      log(`${name}: ${OUTAGE_MS / 1_000} s with the gateway not answering…`);
      await stack.setGatewayFaults({ timeoutRate: 1 });
      outage.set(name, await load(stack, OUTAGE_MS));
      await stack.setGatewayFaults(null);
    }
  } finally {
    await stacks.down();
  }

  const healthyP99 = summarize((healthy.get('shared breaker') ?? []).map((s) => s.latencyMs)).p99;
  const ms = (value: number) => value.toFixed(value < 10 ? 1 : 0);
  const rows = subjects.flatMap(([name]) =>
    (
      [
        ['healthy', healthy.get(name) ?? []],
        ['gateway not answering', outage.get(name) ?? []],
      ] as const
    ).map(([phase, samples]) => {
      const latency = summarize(samples.map((s) => s.latencyMs));
      // Once the first charges have timed out: what the rest of an outage looks like.
      const settled = summarize(
        samples.filter((s) => s.sentAtMs >= SETTLED_AFTER_MS).map((s) => s.latencyMs),
      );
      const waited = samples.filter((s) => s.latencyMs >= GATEWAY_TIMEOUT_MS).length;
      const errors = samples.filter(
        (s) => s.outcome === 'error' || s.outcome === 'rejected',
      ).length;
      return `| ${name} | ${phase} | ${samples.length} | ${ms(latency.p50)} | ${ms(latency.p99)} | ${ms(settled.p99)} | ${ms(latency.max)} | ${(latency.p50 / healthyP99).toFixed(2)} | ${(latency.p99 / healthyP99).toFixed(1)} | ${waited} | ${errors} |`;
    }),
  );
  const table = [
    `| stack | phase | orders | p50 ms | p99 ms | p99 ms from ${SETTLED_AFTER_MS / 1_000} s on | max ms | p50 ÷ healthy p99 | p99 ÷ healthy p99 | orders that waited ≥ 1 s | errors (5xx, timeouts) |`,
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
  log(`\n${table}`);

  await writeChart(
    'fast-failure',
    renderLatencyChart({
      title: 'Order latency while the gateway does not answer: the slowest order of each second',
      xLabel: 'seconds since the gateway stopped answering',
      series: [
        {
          label: 'no breaker',
          color: '#c62828',
          values: slowestPerSecond(outage.get('no breaker') ?? [], OUTAGE_MS),
        },
        {
          label: 'shared breaker',
          color: '#1565c0',
          values: slowestPerSecond(outage.get('shared breaker') ?? [], OUTAGE_MS),
        },
      ],
      references: [{ label: 'healthy p99', ms: healthyP99, color: '#2e7d32' }],
    }),
  );
  await writeSection(
    'fast-failure',
    [
      `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}. Two copies of the compose stack (orders, 3 payments replicas, gateway, Redis) up at once, one with the shared breaker and one with \`BREAKER_ENABLED=false\`, taking turns: ${RATE} orders/s on a fixed schedule, ${HEALTHY_MS / 1_000} s healthy each (after 3 s of warm-up), then ${OUTAGE_MS / 1_000} s each with the gateway holding every charge unanswered (\`timeoutRate: 1\`), which payments gives up on after ${GATEWAY_TIMEOUT_MS} ms. Ratios are to the healthy p99 of the stack with the breaker (${ms(healthyP99)} ms).`,
      '',
      table,
      '',
      '![Order latency per second while the gateway does not answer](fast-failure.svg)',
    ].join('\n'),
  );
}

runBenchmark('bench:fast-failure', main);
