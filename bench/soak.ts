/**
 * Soak: the compose stack under a steady load for a bounded time, sampling
 * every container's memory and CPU, Redis's memory, key count and
 * append-only file, to tell what a lab left running for a week costs.
 * Prints per-container slopes, bytes per order, and Redis's memory and AOF
 * projected to 7 days at the stack's background load (with the records'
 * retention) against its limits.
 *
 *   npm run bench:soak     (BENCH_SOAK_MINUTES=10, BENCH_RATE=30 orders/s, BENCH_SAMPLE_MS=15000)
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_RECORD_RETENTION_HOURS } from '@cb-lab/shared';
import { runLoad, type LoadResult } from '@cb-lab/load-generator';
import { STACK_CONTAINERS, startStack, STACK_SERVICES, type Stack } from '@cb-lab/testing';
import { describeMachine } from './machine';
import { writeSection } from './report';
import { log, runBenchmark } from './run';
import { stackRedisVersion } from './stack-bench';

const MINUTES = Number(process.env.BENCH_SOAK_MINUTES ?? 10);
const RATE = Number(process.env.BENCH_RATE ?? 30);
const SAMPLE_MS = Number(process.env.BENCH_SAMPLE_MS ?? 15_000);
/** The stack's own background load (LOAD_RATE in docker-compose.yml), paused during the run. */
const DEFAULT_LOAD_PER_SECOND = 2;
/** Every container's memory limit in docker-compose.yml. */
const CONTAINER_LIMIT_BYTES = 256 * 2 ** 20;
const WEEK_SECONDS = 7 * 24 * 3_600;
/** docker-compose.yml's auto-aof-rewrite-min-size (Redis's own default). */
const AOF_REWRITE_MIN_MIB = 64;
const MiB = 2 ** 20;

interface RedisFigures {
  usedMemory: number;
  keys: number;
  /** The append-only file's size (all its parts), bytes. */
  aofBytes: number;
  /** Its size right after the last rewrite, bytes. */
  aofBaseBytes: number;
}

interface Sample {
  atSeconds: number;
  orders: number;
  memory: Record<string, number>;
  cpuSeconds: Record<string, number>;
  redis: RedisFigures;
}

/** Runs redis-cli in the Redis container as the lab's user (its password is in that container's environment). */
async function redisCli(stack: Stack, ...args: string[]): Promise<string> {
  const { output, exitCode } = await stack.environment
    .getContainer('redis-1')
    .exec(['redis-cli', '--user', 'lab', '--no-auth-warning', ...args]);
  if (exitCode !== 0) throw new Error(`redis-cli ${args.join(' ')} failed: ${output}`);
  return output;
}

const field = (info: string, name: string): number =>
  Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? Number.NaN);

async function redisFigures(stack: Stack): Promise<RedisFigures> {
  const [memory, persistence, keys] = await Promise.all([
    redisCli(stack, 'info', 'memory'),
    redisCli(stack, 'info', 'persistence'),
    redisCli(stack, 'dbsize'),
  ]);
  return {
    usedMemory: field(memory, 'used_memory'),
    keys: Number(keys.trim()),
    aofBytes: field(persistence, 'aof_current_size'),
    aofBaseBytes: field(persistence, 'aof_base_size'),
  };
}

async function sample(stack: Stack, startedAt: number, orders: number): Promise<Sample> {
  const usage = await Promise.all(
    STACK_CONTAINERS.map(async (name) => {
      const container = stack.container(name);
      const { memoryBytes, cpuSeconds } = await container.usage();
      return [name, memoryBytes, cpuSeconds] as const;
    }),
  );
  return {
    atSeconds: (performance.now() - startedAt) / 1_000,
    orders,
    memory: Object.fromEntries(usage.map(([name, bytes]) => [name, bytes])),
    cpuSeconds: Object.fromEntries(usage.map(([name, , cpu]) => [name, cpu])),
    redis: await redisFigures(stack),
  };
}

/** Least-squares slope of `y` over `x`. */
function slope(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i += 1) {
    num += ((x[i] ?? 0) - mx) * ((y[i] ?? 0) - my);
    den += ((x[i] ?? 0) - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

const mib = (bytes: number): string => (bytes / MiB).toFixed(1);

async function main(): Promise<void> {
  log('starting the compose stack (its background load paused)…');
  const stack = await startStack({
    services: STACK_SERVICES,
    environment: { LOAD_RATE: '0' },
  });
  const samples: Sample[] = [];
  let machine: string;
  let result: LoadResult;
  try {
    machine = describeMachine(await stackRedisVersion(stack));
    log(
      `Soak: ${RATE} orders/s for ${MINUTES} min, a sample every ${SAMPLE_MS / 1_000} s, on ${machine}`,
    );
    // Warm up first, so the slopes are the load's and not the services' start.
    await runLoad({ ordersUrl: stack.orders, ratePerSecond: RATE, durationMs: 20_000 });
    let orders = 0;
    const startedAt = performance.now();
    const load = runLoad({
      ordersUrl: stack.orders,
      ratePerSecond: RATE,
      durationMs: MINUTES * 60_000,
      onSample: () => {
        orders += 1;
      },
    });
    const finished = load.then(() => true);
    for (;;) {
      const now = await sample(stack, startedAt, orders);
      samples.push(now);
      log(
        `t=${now.atSeconds.toFixed(0)}s orders ${orders}; redis ${mib(now.redis.usedMemory)} MiB, ${now.redis.keys} keys, AOF ${mib(now.redis.aofBytes)} MiB`,
      );
      if (await Promise.race([finished, sleep(SAMPLE_MS).then(() => false)])) break;
    }
    result = await load;
    samples.push(await sample(stack, startedAt, orders));
  } finally {
    await stack.down();
  }

  const first = samples[0];
  const last = samples[samples.length - 1];
  if (first === undefined || last === undefined || samples.length < 3)
    throw new Error('too few samples: run longer than three sample intervals');
  const seconds = samples.map((s) => s.atSeconds);
  const ordersAxis = samples.map((s) => s.orders);
  const rows = STACK_CONTAINERS.map((name) => {
    const memory = samples.map((s) => s.memory[name] ?? 0);
    const perHour = slope(seconds, memory) * 3_600;
    const cpu =
      ((last.cpuSeconds[name] ?? 0) - (first.cpuSeconds[name] ?? 0)) /
      (last.atSeconds - first.atSeconds);
    return `| ${name} | ${mib(first.memory[name] ?? 0)} | ${mib(last.memory[name] ?? 0)} | ${(perHour / MiB).toFixed(1)} | ${(cpu * 100).toFixed(1)} % |`;
  });
  const containerTable = [
    '| container | memory at start, MiB | at end, MiB | slope, MiB/h | CPU (one core = 100 %) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');

  const memoryPerOrder = slope(
    ordersAxis,
    samples.map((s) => s.redis.usedMemory),
  );
  const keysPerOrder = slope(
    ordersAxis,
    samples.map((s) => s.redis.keys),
  );
  const aofPerOrder = slope(
    ordersAxis,
    samples.map((s) => s.redis.aofBytes),
  );
  const retentionSeconds = DEFAULT_RECORD_RETENTION_HOURS * 3_600;
  // Records expire after the retention: past it, as many leave as arrive.
  const keptSeconds = Math.min(WEEK_SECONDS, retentionSeconds);
  const ordersKept = DEFAULT_LOAD_PER_SECOND * keptSeconds;
  const projectedMemory = first.redis.usedMemory + memoryPerOrder * ordersKept;
  // The live records in AOF form are at most what their orders added to it; Redis rewrites the
  // file to that once it has doubled since the last rewrite and is over the minimum size.
  const aofBound = Math.max(AOF_REWRITE_MIN_MIB * MiB, 2 * aofPerOrder * ordersKept);
  const withoutRetention =
    first.redis.usedMemory + memoryPerOrder * DEFAULT_LOAD_PER_SECOND * WEEK_SECONDS;
  const redisTable = [
    '| figure | value |',
    '| --- | ---: |',
    `| orders in the run | ${result.orders} (${(result.orders / (last.atSeconds || 1)).toFixed(1)}/s; ${result.outcomes.describe()}) |`,
    `| Redis memory per order | ${memoryPerOrder.toFixed(0)} B |`,
    `| Redis keys per order | ${keysPerOrder.toFixed(2)} |`,
    `| AOF growth per order | ${aofPerOrder.toFixed(0)} B |`,
    `| Redis memory at the start of the run | ${mib(first.redis.usedMemory)} MiB |`,
    `| Redis memory after 7 days at ${DEFAULT_LOAD_PER_SECOND} orders/s, records kept ${DEFAULT_RECORD_RETENTION_HOURS} h | ${mib(projectedMemory)} MiB (${((projectedMemory / CONTAINER_LIMIT_BYTES) * 100).toFixed(0)} % of the 256 MiB limit) |`,
    `| the same, had records been kept the whole week | ${mib(withoutRetention)} MiB (${(withoutRetention / CONTAINER_LIMIT_BYTES).toFixed(1)} × the limit) |`,
    `| AOF at the end of the run (of it, the last rewrite's base) | ${mib(last.redis.aofBytes)} MiB (${mib(last.redis.aofBaseBytes)} MiB) |`,
    `| AOF bound after 7 days at ${DEFAULT_LOAD_PER_SECOND} orders/s: rewritten once doubled and over ${AOF_REWRITE_MIN_MIB} MiB | ${mib(aofBound)} MiB |`,
  ].join('\n');
  log(`\n${containerTable}\n\n${redisTable}`);
  await writeSection(
    'soak',
    [
      `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}. The compose stack (every service but Grafana; its background load paused), 20 s of warm-up, then ${RATE} orders/s for ${MINUTES} min, every container sampled every ${SAMPLE_MS / 1_000} s, plus the few seconds a sample takes (memory as \`docker stats\` shows it, CPU time) with Redis's \`used_memory\`, key count and AOF size (\`aof_current_size\`). Slopes are least-squares fits over the run; per-order figures are fits against the orders sent.`,
      '',
      containerTable,
      '',
      redisTable,
    ].join('\n'),
  );
}

runBenchmark('bench:soak', main);
