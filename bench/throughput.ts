/**
 * Throughput and memory of the healthy stack (orders → payments → gateway)
 * with the shared breaker and with BREAKER_ENABLED=false. Both stacks run at
 * once and take turns, several rounds each; a fixed number of clients send
 * orders back to back (closed loop), so the figure is what the stack can do.
 *
 *   npm run bench:throughput      (BENCH_CLIENTS=16, BENCH_ROUND_MS=15000, BENCH_ROUNDS=4)
 */
import { performance } from 'node:perf_hooks';
import { type Stack } from '@cb-lab/testing';
import { placeOrder } from '@cb-lab/load-generator';
import { summarize } from '@cb-lab/load-generator';
import { describeMachine } from './machine';
import { writeSection } from './report';
import { log, runBenchmark } from './run';
import { stackRedisVersion, startBenchStacks } from './stack-bench';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 16);
const ROUND_MS = Number(process.env.BENCH_ROUND_MS ?? 15_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const MEMORY_OF = {
  'payments (3 replicas)': ['payments-1', 'payments-2', 'payments-3'],
  orders: ['orders-1'],
  redis: ['redis-1'],
} as const;

interface Round {
  ordersPerSecond: number;
  latencies: number[];
  /** Orders that did not end `paid`, by outcome and reason (none are expected: the gateway is healthy). */
  notPaid: string[];
}

/** `CLIENTS` clients sending orders back to back for `durationMs`. */
async function closedLoop(stack: Stack, durationMs: number): Promise<Round> {
  const latencies: number[] = [];
  const notPaid: string[] = [];
  let n = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      while (performance.now() - started < durationMs) {
        const result = await placeOrder(stack.orders, (n += 1), 10_000);
        latencies.push(result.latencyMs);
        if (result.outcome !== 'paid')
          notPaid.push(`${result.outcome} ${result.failureReason ?? ''}`.trim());
      }
    }),
  );
  return {
    ordersPerSecond: latencies.length / ((performance.now() - started) / 1_000),
    latencies,
    notPaid,
  };
}

async function memoryMiB(stack: Stack): Promise<Record<string, number>> {
  const entries = await Promise.all(
    Object.entries(MEMORY_OF).map(async ([service, containers]) => {
      const bytes = await Promise.all(
        containers.map(async (name) => (await stack.container(name).usage()).memoryBytes),
      );
      return [service, bytes.reduce((sum, b) => sum + b, 0) / 2 ** 20] as const;
    }),
  );
  return Object.fromEntries(entries);
}

async function main(): Promise<void> {
  const stacks = await startBenchStacks(log);
  const subjects: [string, Stack][] = [
    ['shared breaker', stacks.withBreaker],
    ['no breaker', stacks.withoutBreaker],
  ];
  const rounds = new Map<string, Round[]>(subjects.map(([name]) => [name, []]));
  const memory = new Map<string, Record<string, number>>();
  let machine: string;
  try {
    machine = describeMachine(await stackRedisVersion(stacks.withBreaker));
    log(`Throughput, ${CLIENTS} clients, ${ROUNDS} rounds of ${ROUND_MS / 1_000} s, on ${machine}`);
    for (const [name, stack] of subjects) {
      log(`${name}: warming up…`);
      await closedLoop(stack, 5_000);
    }
    for (let round = 1; round <= ROUNDS; round += 1)
      // Each round in the other order: the machine warms up over the run, and whoever went
      // second would always get the warmer half.
      for (const [name, stack] of round % 2 === 1 ? subjects : [...subjects].reverse()) {
        const result = await closedLoop(stack, ROUND_MS);
        rounds.get(name)?.push(result);
        log(`round ${round}, ${name}: ${result.ordersPerSecond.toFixed(0)} orders/s`);
      }
    for (const [name, stack] of subjects) memory.set(name, await memoryMiB(stack));
  } finally {
    await stacks.down();
  }

  const reference = summarize((rounds.get('no breaker') ?? []).map((r) => r.ordersPerSecond)).p50;
  const rows = subjects.map(([name]) => {
    const mine = rounds.get(name) ?? [];
    const throughput = summarize(mine.map((r) => r.ordersPerSecond)).p50;
    const latency = summarize(mine.flatMap((r) => r.latencies));
    const notPaidKinds = new Map<string, number>();
    for (const kind of mine.flatMap((r) => r.notPaid))
      notPaidKinds.set(kind, (notPaidKinds.get(kind) ?? 0) + 1);
    const notPaid = [...notPaidKinds].map(([kind, n]) => `${n} × ${kind}`).join(', ') || '0';
    const mem = memory.get(name) ?? {};
    const memoryCells = Object.keys(MEMORY_OF).map((service) => (mem[service] ?? NaN).toFixed(0));
    const each = mine.map((r) => r.ordersPerSecond.toFixed(0)).join(', ');
    return `| ${name} | ${throughput.toFixed(0)} | ${each} | ${(throughput / reference).toFixed(2)} | ${latency.p50.toFixed(1)} | ${latency.p99.toFixed(1)} | ${latency.count} | ${notPaid} | ${memoryCells.join(' | ')} |`;
  });
  const table = [
    `| stack | orders/s (median of rounds) | each round | × no breaker | p50 ms | p99 ms | orders | not paid | ${Object.keys(
      MEMORY_OF,
    )
      .map((service) => `memory MiB: ${service}`)
      .join(' | ')} |`,
    `| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ${Object.keys(MEMORY_OF)
      .map(() => '---:')
      .join(' | ')} |`,
    ...rows,
  ].join('\n');
  log(`\n${table}`);
  await writeSection(
    'throughput',
    [
      `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}. Two copies of the compose stack up at once, one with the shared breaker and one with \`BREAKER_ENABLED=false\`, the gateway healthy; ${CLIENTS} clients send orders back to back to one stack at a time, ${ROUNDS} rounds of ${ROUND_MS / 1_000} s each, the stacks taking turns, in the other order each round (after 5 s of warm-up each). Memory is what \`docker stats\` reports after the last round.`,
      '',
      table,
    ].join('\n'),
  );
}

runBenchmark('bench:throughput', main);
