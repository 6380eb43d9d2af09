/**
 * Per-call overhead of a breaker, side by side in one run against one real
 * Redis: a bare call, cockatiel's in-process breaker, the shared breaker and
 * a naive per-call Redis breaker (pybreaker's storage pattern), in the closed
 * success path, the closed failure path and open rejections, with the Redis
 * commands each costs per call.
 *
 *   npm run bench:overhead            (BENCH_CALLS=20000 BENCH_ROUNDS=5 by default)
 */
import { performance } from 'node:perf_hooks';
import { RedisBreakerStore, SharedCircuitBreaker } from '@cb-lab/shared-breaker';
import {
  startRedis,
  startRedisCluster,
  type TestRedis,
  type TestRedisCluster,
} from '@cb-lab/testing';
import { circuitBreaker, ConsecutiveBreaker, handleAll } from 'cockatiel';
import { summarize } from '@cb-lab/load-generator';
import { describeMachine, redisVersionOf } from './machine';
import { runBenchmark } from './run';
import { NaiveRedisBreaker } from './naive-redis-breaker';
import { writeSection } from './report';

const CALLS = Number(process.env.BENCH_CALLS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** Never reached: the failure path must stay closed. */
const NEVER = Number.MAX_SAFE_INTEGER;

type Path = 'closed success' | 'closed failure' | 'open rejection';
const PATHS: readonly Path[] = ['closed success', 'closed failure', 'open rejection'];
const SUBJECTS = [
  'bare call',
  'cockatiel',
  'shared breaker',
  'shared breaker on Redis Cluster',
  'naive Redis breaker',
] as const;
type Subject = (typeof SUBJECTS)[number];

/** A protected call that yields to the event loop once, like fast I/O. */
const succeed = () =>
  new Promise<string>((resolve) =>
    setImmediate(() => {
      resolve('ok');
    }),
  );
const fail = () =>
  new Promise<never>((_, reject) =>
    setImmediate(() => {
      reject(new Error('down'));
    }),
  );

type Runner = () => Promise<unknown>;

async function subjectsFor(
  redis: TestRedis,
  cluster: TestRedisCluster,
  teardown: (() => Promise<unknown>)[],
): Promise<Record<Path, Record<Subject, Runner>>> {
  const shared = async (name: string, threshold: number, onCluster = false) => {
    const store = new RedisBreakerStore(
      onCluster ? { clusterNodes: cluster.nodes, password: cluster.password } : redis.url,
    );
    teardown.push(() => store.close());
    const breaker = await new SharedCircuitBreaker(store, {
      name,
      trip: { mode: 'consecutive', threshold },
      openMs: 3_600_000,
    }).start();
    teardown.push(async () => {
      breaker.dispose();
      await Promise.resolve();
    });
    return breaker;
  };
  const cockatiel = (threshold: number) =>
    circuitBreaker(handleAll, {
      halfOpenAfter: 3_600_000,
      breaker: new ConsecutiveBreaker(threshold),
    });
  const naive = (key: string, threshold: number) =>
    new NaiveRedisBreaker(redis.connect(), key, threshold);
  const swallow = (run: () => Promise<unknown>) => () => run().catch(() => undefined);

  const [sharedClosed, sharedFailing, sharedOpen] = await Promise.all([
    shared('bench-closed', NEVER),
    shared('bench-failing', NEVER),
    shared('bench-open', 1),
  ]);
  await swallow(() => sharedOpen.execute(fail))();
  await sharedOpen.flush();
  const [clusterClosed, clusterFailing, clusterOpen] = await Promise.all([
    shared('bench-closed', NEVER, true),
    shared('bench-failing', NEVER, true),
    shared('bench-open', 1, true),
  ]);
  await swallow(() => clusterOpen.execute(fail))();
  await clusterOpen.flush();
  const cockatielOpen = cockatiel(1);
  await swallow(() => cockatielOpen.execute(fail))();
  const naiveOpen = naive('bench:naive:open', 1);
  await naiveOpen.forceOpen();
  const [cockatielClosed, cockatielFailing] = [cockatiel(NEVER), cockatiel(NEVER)];
  const [naiveClosed, naiveFailing] = [
    naive('bench:naive:closed', NEVER),
    naive('bench:naive:failing', NEVER),
  ];

  return {
    'closed success': {
      'bare call': succeed,
      cockatiel: () => cockatielClosed.execute(succeed),
      'shared breaker': () => sharedClosed.execute(succeed),
      'shared breaker on Redis Cluster': () => clusterClosed.execute(succeed),
      'naive Redis breaker': () => naiveClosed.execute(succeed),
    },
    'closed failure': {
      'bare call': swallow(fail),
      cockatiel: swallow(() => cockatielFailing.execute(fail)),
      'shared breaker': swallow(() => sharedFailing.execute(fail)),
      'shared breaker on Redis Cluster': swallow(() => clusterFailing.execute(fail)),
      'naive Redis breaker': swallow(() => naiveFailing.execute(fail)),
    },
    'open rejection': {
      // A bare call has nothing to reject with: it is the cost of the failing call itself.
      'bare call': swallow(fail),
      cockatiel: swallow(() => cockatielOpen.execute(succeed)),
      'shared breaker': swallow(() => sharedOpen.execute(succeed)),
      'shared breaker on Redis Cluster': swallow(() => clusterOpen.execute(succeed)),
      'naive Redis breaker': swallow(() => naiveOpen.execute(succeed)),
    },
  };
}

/** Commands the subjects sent: not the benchmark's own INFO, nor the cluster client's CLUSTER SLOTS. */
const commandTotal = (counts: Record<string, number>) =>
  Object.entries(counts)
    .filter(([name]) => name !== 'info' && !name.startsWith('cluster'))
    .reduce((sum, [, calls]) => sum + calls, 0);

interface Measurement {
  nsPerCall: number;
  commandsPerCall: number;
}

async function measure(
  redis: TestRedis,
  cluster: TestRedisCluster,
  run: Runner,
): Promise<Measurement> {
  const count = async () =>
    commandTotal(await redis.commandCounts()) + commandTotal(await cluster.commandCounts());
  const before = await count();
  const started = performance.now();
  for (let i = 0; i < CALLS; i += 1) await run();
  const elapsed = performance.now() - started;
  // Let batched outcome writes land before counting them.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const after = await count();
  return { nsPerCall: (elapsed * 1e6) / CALLS, commandsPerCall: (after - before) / CALLS };
}

const median = (values: number[]) => summarize(values).p50;

async function main(): Promise<void> {
  const redis = await startRedis();
  const cluster = await startRedisCluster();
  const teardown: (() => Promise<unknown>)[] = [];
  try {
    const machine = describeMachine(await redisVersionOf(redis.connect()));
    process.stdout.write(
      `Per-call overhead, ${CALLS} sequential calls × ${ROUNDS} rounds, on ${machine}\n\n`,
    );
    const subjects = await subjectsFor(redis, cluster, teardown);
    const results = new Map<string, Measurement[]>();
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const path of PATHS) {
        // Subjects take turns within a round, so a noisy moment hurts them alike.
        for (const subject of SUBJECTS) {
          const key = `${path}|${subject}`;
          results.set(key, [
            ...(results.get(key) ?? []),
            await measure(redis, cluster, subjects[path][subject]),
          ]);
        }
      }
    }

    const rows = PATHS.flatMap((path) => {
      const ns = (subject: Subject) =>
        median((results.get(`${path}|${subject}`) ?? []).map((m) => m.nsPerCall));
      return SUBJECTS.map((subject) => ({
        path,
        subject,
        ns: ns(subject),
        vsCockatiel: ns(subject) / ns('cockatiel'),
        naiveOverThis: ns('naive Redis breaker') / ns(subject),
        commands: median((results.get(`${path}|${subject}`) ?? []).map((m) => m.commandsPerCall)),
      }));
    });
    const table = [
      '| path | subject | µs per call | × cockatiel | naive ÷ this | Redis commands per call |',
      '| --- | --- | ---: | ---: | ---: | ---: |',
      ...rows.map(
        (r) =>
          `| ${r.path} | ${r.subject} | ${(r.ns / 1_000).toFixed(2)} | ${r.vsCockatiel.toFixed(2)} | ${r.naiveOverThis.toFixed(1)} | ${r.commands.toFixed(3)} |`,
      ),
    ].join('\n');
    process.stdout.write(`${table}\n`);
    await writeSection(
      'overhead',
      [
        `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}: ${CALLS} sequential calls per subject and path, ${ROUNDS} rounds with the subjects taking turns; medians. Each protected call yields to the event loop once (like fast I/O), so the bare call is the floor. Redis commands are counted with \`INFO commandstats\` deltas (on the cluster, summed over its three primaries; it has a replica each, all in one container).`,
        '',
        table,
      ].join('\n'),
    );
  } finally {
    for (const step of teardown.reverse()) await step().catch(() => undefined);
    await Promise.all([redis.stop(), cluster.stop()]);
  }
}

runBenchmark('bench:overhead', main);
