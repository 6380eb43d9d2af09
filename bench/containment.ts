/**
 * Containment: N replicas under steady load when the protected service fails
 * hard. How many calls still reach it until every replica rejects, how fast a
 * transition reaches every replica, and how many probes each open period lets
 * through. The shared breaker (one state in Redis, each replica on its own
 * connections) against per-replica cockatiel breakers with the same settings
 * and against no breaker at all, side by side in one run.
 *
 *   npm run bench:containment        (BENCH_TRIALS=5 by default)
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  RedisBreakerStore,
  SharedCircuitBreaker,
  type RedisConnection,
} from '@cb-lab/shared-breaker';
import { startRedis, startRedisCluster } from '@cb-lab/testing';
import { Redis } from 'ioredis';
import {
  circuitBreaker,
  CircuitState,
  ConsecutiveBreaker,
  handleAll,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import { summarize } from '@cb-lab/load-generator';
import { describeMachine, redisVersionOf } from './machine';
import { runBenchmark } from './run';
import { writeSection } from './report';

const TRIALS = Number(process.env.BENCH_TRIALS ?? 5);
const THRESHOLD = 5;
/** Calls per second each replica sends, each taking about a millisecond. */
const RATE_PER_REPLICA = 200;
const OPEN_MS = 250;

/** The protected service: counts the calls that reach it, and fails hard once broken. */
class Dependency {
  broken = false;
  calls = 0;

  call = async (): Promise<string> => {
    this.calls += 1;
    await sleep(1);
    if (this.broken) throw new Error('dependency down');
    return 'ok';
  };
}

interface Replica {
  execute(fn: () => Promise<string>): Promise<unknown>;
  readonly open: boolean;
}

type Kind =
  'shared breaker' | 'shared breaker on Redis Cluster' | 'local cockatiel breakers' | 'no breaker';
const KINDS: readonly Kind[] = [
  'shared breaker',
  'shared breaker on Redis Cluster',
  'local cockatiel breakers',
  'no breaker',
];

/** Where the shared breaker keeps its state: a standalone Redis and a 3-primary cluster. */
interface Targets {
  standalone: RedisConnection;
  cluster: RedisConnection;
}

interface Cluster {
  replicas: Replica[];
  /** ms from the first replica opening to each other replica opening (shared breaker only). */
  propagation: number[];
  close(): Promise<void>;
}

async function cluster(kind: Kind, size: number, targets: Targets, name: string): Promise<Cluster> {
  const propagation: number[] = [];
  if (kind === 'no breaker') {
    return {
      replicas: Array.from({ length: size }, () => ({ execute: (fn) => fn(), open: false })),
      propagation,
      close: () => Promise.resolve(),
    };
  }
  if (kind === 'local cockatiel breakers') {
    const policies: CircuitBreakerPolicy[] = Array.from({ length: size }, () =>
      circuitBreaker(handleAll, {
        halfOpenAfter: OPEN_MS,
        breaker: new ConsecutiveBreaker(THRESHOLD),
      }),
    );
    return {
      replicas: policies.map((policy) => ({
        execute: (fn) => policy.execute(fn),
        get open() {
          return policy.state !== CircuitState.Closed;
        },
      })),
      propagation,
      close: () => Promise.resolve(),
    };
  }
  const stores: RedisBreakerStore[] = [];
  const breakers: SharedCircuitBreaker[] = [];
  let firstOpenAt: number | undefined;
  for (let i = 0; i < size; i += 1) {
    const store = new RedisBreakerStore(
      kind === 'shared breaker' ? targets.standalone : targets.cluster,
    );
    const breaker = await new SharedCircuitBreaker(store, {
      name,
      replica: `r${i}`,
      trip: { mode: 'consecutive', threshold: THRESHOLD },
      openMs: OPEN_MS,
    }).start();
    breaker.onTransition(({ from, to }) => {
      if (from !== 'closed' || to !== 'open') return;
      const now = performance.now();
      if (firstOpenAt === undefined) firstOpenAt = now;
      else propagation.push(now - firstOpenAt);
    });
    stores.push(store);
    breakers.push(breaker);
  }
  return {
    replicas: breakers.map((breaker) => ({
      execute: (fn) => breaker.execute(fn),
      get open() {
        return breaker.state !== 'closed';
      },
    })),
    propagation,
    close: async () => {
      for (const breaker of breakers) breaker.dispose();
      await Promise.all(stores.map((store) => store.close()));
    },
  };
}

/** Every replica sends calls at its rate until `until` resolves. */
function steadyLoad(
  replicas: Replica[],
  dependency: Dependency,
  stop: { stopped: boolean },
): Promise<void> {
  return Promise.all(
    replicas.map(async (replica) => {
      const inFlight = new Set<Promise<unknown>>();
      while (!stop.stopped) {
        const call = replica.execute(dependency.call).catch(() => undefined);
        inFlight.add(call);
        void call.finally(() => inFlight.delete(call));
        await sleep(1_000 / RATE_PER_REPLICA);
      }
      await Promise.all(inFlight);
    }),
  ).then(() => undefined);
}

interface Trial {
  reachedUntilAllRejected: number;
  propagation: number[];
  /** Calls that reached the broken dependency per open period after the first one. */
  probesPerPeriod: number;
}

async function trial(kind: Kind, size: number, targets: Targets, name: string): Promise<Trial> {
  const dependency = new Dependency();
  const replicas = await cluster(kind, size, targets, name);
  const stop = { stopped: false };
  const load = steadyLoad(replicas.replicas, dependency, stop);
  await sleep(200);
  dependency.broken = true;
  const callsAtBreak = dependency.calls;
  const brokeAt = performance.now();
  // Until every replica rejects (the no-breaker cluster never does: it gets a fixed second).
  while (performance.now() - brokeAt < 1_000 && !replicas.replicas.every((r) => r.open))
    await sleep(0.2);
  const reachedUntilAllRejected = dependency.calls - callsAtBreak;
  // Then ten open periods with the dependency still broken: what gets through is probes.
  const probesFrom = dependency.calls;
  await sleep(OPEN_MS * 10);
  const probesPerPeriod = (dependency.calls - probesFrom) / 10;
  stop.stopped = true;
  await load;
  await replicas.close();
  return { reachedUntilAllRejected, propagation: replicas.propagation, probesPerPeriod };
}

/** The mean round trip of a PING on `connection`, in ms. */
async function roundTripMsOf(connection: Redis): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < 200; i += 1) await connection.ping();
  return (performance.now() - started) / 200;
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const redisCluster = await startRedisCluster();
  try {
    const connection = redis.connect();
    const machine = describeMachine(await redisVersionOf(connection));
    const roundTripMs = await roundTripMsOf(connection);
    // A cluster node's round trip (every node is in one container: one is as near as another).
    const [host, port] = (redisCluster.nodes[0] ?? '').split(':');
    const clusterNode = new Redis({ host, port: Number(port), password: redisCluster.password });
    const clusterRoundTripMs = await roundTripMsOf(clusterNode);
    clusterNode.disconnect();
    const targets: Targets = {
      standalone: redis.url,
      cluster: { clusterNodes: redisCluster.nodes, password: redisCluster.password },
    };
    process.stdout.write(
      `Containment, ${TRIALS} trials, threshold ${THRESHOLD}, ${RATE_PER_REPLICA} calls/s per replica, open ${OPEN_MS} ms, on ${machine}; Redis round trip ${(roundTripMs * 1_000).toFixed(0)} µs (cluster node ${(clusterRoundTripMs * 1_000).toFixed(0)} µs)\n\n`,
    );
    const rows: string[] = [];
    let trialNumber = 0;
    for (const size of [3, 10]) {
      for (const kind of KINDS) {
        const trials: Trial[] = [];
        for (let t = 0; t < TRIALS; t += 1)
          trials.push(await trial(kind, size, targets, `containment-${(trialNumber += 1)}`));
        const rtt = kind === 'shared breaker on Redis Cluster' ? clusterRoundTripMs : roundTripMs;
        const delays = trials.flatMap((t) => t.propagation).map((ms) => ms / rtt);
        const target =
          kind === 'shared breaker' || kind === 'shared breaker on Redis Cluster'
            ? `≤ ${THRESHOLD} + in flight`
            : kind === 'local cockatiel breakers'
              ? `≤ ${size * THRESHOLD} + in flight`
              : '–';
        rows.push(
          `| ${size} | ${kind} | ${summarize(trials.map((t) => t.reachedUntilAllRejected)).p50} (max ${Math.max(...trials.map((t) => t.reachedUntilAllRejected))}) | ${target} | ${
            delays.length === 0
              ? '–'
              : `${summarize(delays).p50.toFixed(1)} / ${summarize(delays).p99.toFixed(1)}`
          } | ${summarize(trials.map((t) => t.probesPerPeriod)).p50.toFixed(2)} |`,
        );
        process.stdout.write(`${rows[rows.length - 1] ?? ''}\n`);
      }
    }
    const table = [
      '| replicas | breaker | calls reaching the dependency after it broke, until every replica rejects (median) | bound | propagation p50 / p99 (Redis round trips) | calls per open period while broken (median) |',
      '| ---: | --- | ---: | --- | ---: | ---: |',
      ...rows,
    ].join('\n');
    await writeSection(
      'containment',
      [
        `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}; Redis round trip ${(roundTripMs * 1_000).toFixed(0)} µs (a cluster node: ${(clusterRoundTripMs * 1_000).toFixed(0)} µs). The cluster has three primaries, each with a replica, in one container; each trial's breaker has its own name, so its slot and node vary. ${TRIALS} trials per row; each replica sends ${RATE_PER_REPLICA} calls/s of about 1 ms; the dependency then fails hard. "In flight" are calls already started when the breaker opened (about ${RATE_PER_REPLICA / 1_000} per replica per millisecond of propagation). Without a breaker, the count is one second of traffic.`,
        '',
        table,
      ].join('\n'),
    );
  } finally {
    await Promise.all([redis.stop(), redisCluster.stop()]);
  }
}

runBenchmark('bench:containment', main);
