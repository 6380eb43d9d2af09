/**
 * Soak: the compose stack under a steady load for a bounded time, sampling
 * every container's memory and CPU, Redis's memory, key count and
 * append-only file, to tell what a lab left running for a week costs.
 * Prints per-container slopes, bytes per order, and Redis's memory and AOF
 * projected to 7 days at the stack's background load (with the records'
 * retention) against its limits.
 *
 *   npm run bench:soak     (BENCH_SOAK_MINUTES=10, BENCH_RATE=30 orders/s, BENCH_SAMPLE_MS=15000,
 *                           BENCH_AOF_MIN_MIB=8)
 *
 * The stack runs with the AOF's rewrite threshold lowered to BENCH_AOF_MIN_MIB (the lab's is
 * 64 MiB), so that rewrites happen within minutes: the run sees how large the rewritten file is
 * per record, and the bound at 64 MiB follows from it.
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
/** The rewrite threshold during the run, low enough to see rewrites in minutes. */
const RUN_AOF_MIN_MIB = Number(process.env.BENCH_AOF_MIN_MIB ?? 8);
const MiB = 2 ** 20;

interface RedisFigures {
  usedMemory: number;
  keys: number;
  /** The append-only file's size (all its parts), bytes. */
  aofBytes: number;
  /** Its size right after the last rewrite, bytes. */
  aofBaseBytes: number;
  /** Rewrites since Redis started. */
  aofRewrites: number;
  /** The memory cap (`maxmemory`), bytes. */
  maxMemory: number;
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
    aofRewrites: field(persistence, 'aof_rewrites'),
    maxMemory: field(memory, 'maxmemory'),
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

interface RewritesSeen {
  count: number;
  largestAof: number;
  /** The largest ratio of a sampled AOF to what the rewrite rule lets it reach before a rewrite. */
  largestOverCeiling: number;
  /** Bytes of the rewritten file per key, at the last rewrite seen. */
  basePerKey: number;
  /** Bytes of the rewritten file per byte of Redis memory, at the last rewrite seen. */
  basePerMemoryByte: number;
}

/**
 * The rewrites between samples. A rewrite's base is divided by the keys of the sample before it
 * (fewer than at the rewrite: the figure per key errs high, so the bounds do too).
 */
function aofRewritesSeen(samples: readonly Sample[]): RewritesSeen {
  const seen: RewritesSeen = {
    count: 0,
    largestAof: 0,
    largestOverCeiling: 0,
    basePerKey: Number.NaN,
    basePerMemoryByte: Number.NaN,
  };
  for (const [i, { redis }] of samples.entries()) {
    const ceiling = Math.max(RUN_AOF_MIN_MIB * MiB, 2 * redis.aofBaseBytes);
    seen.largestAof = Math.max(seen.largestAof, redis.aofBytes);
    seen.largestOverCeiling = Math.max(seen.largestOverCeiling, redis.aofBytes / ceiling);
    const before = samples[i - 1]?.redis;
    if (before === undefined || redis.aofRewrites === before.aofRewrites) continue;
    seen.count += redis.aofRewrites - before.aofRewrites;
    seen.basePerKey = redis.aofBaseBytes / before.keys;
    seen.basePerMemoryByte = redis.aofBaseBytes / before.usedMemory;
  }
  return seen;
}

/** Bytes appended to the AOF per order, over the intervals between samples with no rewrite. */
function aofGrowthPerOrder(samples: readonly Sample[]): number {
  let bytes = 0;
  let orders = 0;
  for (const [i, { redis, orders: sent }] of samples.entries()) {
    const before = samples[i - 1];
    if (before === undefined || redis.aofRewrites !== before.redis.aofRewrites) continue;
    bytes += redis.aofBytes - before.redis.aofBytes;
    orders += sent - before.orders;
  }
  return orders === 0 ? Number.NaN : bytes / orders;
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
    environment: { LOAD_RATE: '0', REDIS_AOF_REWRITE_MIN_SIZE: `${RUN_AOF_MIN_MIB}mb` },
  });
  const samples: Sample[] = [];
  let machine: string;
  let result: LoadResult;
  try {
    machine = describeMachine(await stackRedisVersion(stack));
    log(
      `Soak: ${RATE} orders/s for ${MINUTES} min, a sample every ${SAMPLE_MS / 1_000} s, AOF rewritten past ${RUN_AOF_MIN_MIB} MiB, on ${machine}`,
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
        `t=${now.atSeconds.toFixed(0)}s orders ${orders}; redis ${mib(now.redis.usedMemory)} MiB, ${now.redis.keys} keys, AOF ${mib(now.redis.aofBytes)} MiB (base ${mib(now.redis.aofBaseBytes)} MiB, ${now.redis.aofRewrites} rewrites)`,
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
  const aofPerOrder = aofGrowthPerOrder(samples);
  const rewrites = aofRewritesSeen(samples);
  const retentionSeconds = DEFAULT_RECORD_RETENTION_HOURS * 3_600;
  // Records expire after the retention: past it, as many leave as arrive.
  const keptSeconds = Math.min(WEEK_SECONDS, retentionSeconds);
  const ordersKept = DEFAULT_LOAD_PER_SECOND * keptSeconds;
  const projectedMemory = first.redis.usedMemory + memoryPerOrder * ordersKept;
  const cap = last.redis.maxMemory;
  // Redis rewrites the file to its live records (the base) once it has doubled since the last
  // rewrite and is over the minimum size; while it writes the new base, the old files stay.
  const aofBound = (base: number) => Math.max(AOF_REWRITE_MIN_MIB * MiB, 2 * base) + base;
  const weekBase = rewrites.basePerKey * keysPerOrder * ordersKept;
  const fullBase = rewrites.basePerMemoryByte * cap;
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
    `| Redis memory after 7 days at ${DEFAULT_LOAD_PER_SECOND} orders/s, records kept ${DEFAULT_RECORD_RETENTION_HOURS} h | ${mib(projectedMemory)} MiB (${((projectedMemory / cap) * 100).toFixed(0)} % of the ${mib(cap)} MiB cap; the container's limit is ${mib(CONTAINER_LIMIT_BYTES)} MiB) |`,
    `| the same, had records been kept the whole week | ${mib(withoutRetention)} MiB (${(withoutRetention / cap).toFixed(1)} × the cap) |`,
    `| AOF rewrites seen (past ${RUN_AOF_MIN_MIB} MiB) | ${rewrites.count}; largest AOF sampled ${mib(rewrites.largestAof)} MiB, ${rewrites.largestOverCeiling.toFixed(2)} × its rule's ceiling (${RUN_AOF_MIN_MIB} MiB or twice the base) |`,
    ...(rewrites.count === 0
      ? [
          `| AOF bounds | none: no rewrite in the run to measure a rewritten file by (run longer, or lower BENCH_AOF_MIN_MIB) |`,
        ]
      : [
          `| AOF base (the rewritten file) per key, per order | ${rewrites.basePerKey.toFixed(0)} B, ${(rewrites.basePerKey * keysPerOrder).toFixed(0)} B |`,
          `| AOF bound after 7 days at ${DEFAULT_LOAD_PER_SECOND} orders/s (rewritten past ${AOF_REWRITE_MIN_MIB} MiB): max(${AOF_REWRITE_MIN_MIB} MiB, 2 × base) + base | ${mib(aofBound(weekBase))} MiB (base ${mib(weekBase)} MiB) |`,
          `| AOF bound with Redis full at its cap | ${mib(aofBound(fullBase))} MiB (base ${mib(fullBase)} MiB) |`,
        ]),
  ].join('\n');
  log(`\n${containerTable}\n\n${redisTable}`);
  await writeSection(
    'soak',
    [
      `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}. The compose stack (every service but Grafana; its background load paused; the AOF rewritten past ${RUN_AOF_MIN_MIB} MiB instead of ${AOF_REWRITE_MIN_MIB}, to see rewrites), 20 s of warm-up, then ${RATE} orders/s for ${MINUTES} min, every container sampled every ${SAMPLE_MS / 1_000} s, plus the few seconds a sample takes (memory as \`docker stats\` shows it, CPU time) with Redis's \`used_memory\`, key count and AOF size (\`aof_current_size\`, \`aof_base_size\`, \`aof_rewrites\`). Slopes are least-squares fits over the run; per-order figures are fits against the orders sent. The AOF's growth per order counts only the intervals without a rewrite.`,
      '',
      containerTable,
      '',
      redisTable,
    ].join('\n'),
  );
}

runBenchmark('bench:soak', main);
