/**
 * Redis trouble: calls through the shared breaker under steady load while
 * Redis is healthy, paused (docker pause: connections open, no answers),
 * back, stopped (connections refused) and restarted empty, against
 * cockatiel's in-process breaker, which never talks to Redis, as the
 * reference. Latency percentiles and errors per phase, and whether the
 * breaker used the shared state or its local fallback.
 *
 *   npm run bench:redis-trouble      (BENCH_PHASE_MS=5000 by default)
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisBreakerStore, SharedCircuitBreaker } from '@cb-lab/shared-breaker';
import { startRedis } from '@cb-lab/testing';
import { circuitBreaker, ConsecutiveBreaker, handleAll } from 'cockatiel';
import { summarize } from '@cb-lab/load-generator';
import { describeMachine, redisVersionOf } from './machine';
import { runBenchmark } from './run';
import { writeSection } from './report';

const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 5_000);
const RATE = 200;

/** A healthy dependency taking about a millisecond; one call in twenty fails, as real ones do. */
let calls = 0;
const dependency = async (): Promise<string> => {
  calls += 1;
  await sleep(1);
  if (calls % 20 === 0) throw new Error('occasional failure');
  return 'ok';
};

interface Sample {
  phase: string;
  subject: string;
  ms: number;
  ok: boolean;
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const store = new RedisBreakerStore(redis.url, { operationTimeoutMs: 100 });
  const shared = await new SharedCircuitBreaker(store, {
    name: 'redis-trouble',
    trip: { mode: 'consecutive', threshold: 5 },
    openMs: 1_000,
    storeRetryMs: 500,
  }).start();
  const local = circuitBreaker(handleAll, {
    halfOpenAfter: 1_000,
    breaker: new ConsecutiveBreaker(5),
  });
  const subjects = {
    'shared breaker': (fn: () => Promise<string>) => shared.execute(fn),
    'cockatiel (no Redis)': (fn: () => Promise<string>) => local.execute(fn),
  };
  const samples: Sample[] = [];
  const storeSeen = new Map<string, Set<string>>();
  let phase = 'healthy';
  const control = { stopped: false };

  const load = (async () => {
    const inFlight = new Set<Promise<void>>();
    while (!control.stopped) {
      for (const [subject, run] of Object.entries(subjects)) {
        const started = performance.now();
        const current = phase;
        const call = run(dependency).then(
          () => {
            samples.push({ phase: current, subject, ms: performance.now() - started, ok: true });
          },
          (error: unknown) => {
            // The dependency's own occasional failures are not the breaker's doing.
            const own = error instanceof Error && error.message === 'occasional failure';
            samples.push({ phase: current, subject, ms: performance.now() - started, ok: own });
          },
        );
        inFlight.add(call);
        void call.finally(() => inFlight.delete(call));
      }
      storeSeen.set(
        phase,
        (storeSeen.get(phase) ?? new Set()).add(shared.storeUp ? 'redis' : 'local'),
      );
      await sleep(1_000 / RATE);
    }
    await Promise.all(inFlight);
  })();

  const machine = describeMachine(await redisVersionOf(redis.connect()));
  try {
    process.stdout.write(
      `Redis trouble, ${RATE} calls/s per subject, phases of ${PHASE_MS} ms, on ${machine}\n\n`,
    );
    const phases: [string, () => Promise<void>][] = [
      ['healthy', () => Promise.resolve()],
      ['Redis paused', () => redis.pause()],
      ['Redis back', () => redis.unpause()],
      ['Redis stopped', () => redis.kill()],
      ['Redis restarted empty', () => redis.revive()],
    ];
    for (const [name, enter] of phases) {
      // A phase starts with its change: the time docker takes to apply it counts in it.
      phase = name;
      await enter();
      await sleep(PHASE_MS);
    }
  } finally {
    control.stopped = true;
    await load;
    shared.dispose();
    await store.close();
    await redis.stop();
  }

  const rows = [...new Set(samples.map((s) => s.phase))].flatMap((name) =>
    Object.keys(subjects).map((subject) => {
      const mine = samples.filter((s) => s.phase === name && s.subject === subject);
      const latency = summarize(mine.map((s) => s.ms));
      const errors = mine.filter((s) => !s.ok).length;
      const store =
        subject === 'shared breaker' ? [...(storeSeen.get(name) ?? [])].join(' → ') : '–';
      return `| ${name} | ${subject} | ${mine.length} | ${latency.p50.toFixed(2)} | ${latency.p99.toFixed(2)} | ${latency.max.toFixed(1)} | ${errors} | ${store} |`;
    }),
  );
  const table = [
    '| phase | subject | calls | p50 ms | p99 ms | max ms | errors from the breaker | store used |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
  ].join('\n');
  process.stdout.write(`${table}\n`);
  await writeSection(
    'redis-trouble',
    [
      `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}: ${RATE} calls/s through each subject, ${PHASE_MS / 1_000} s per phase, store budget 100 ms. The dependency takes about 1 ms and fails one call in twenty on its own; "errors from the breaker" counts only rejections (an open breaker rejects by design).`,
      '',
      table,
    ].join('\n'),
  );
}

runBenchmark('bench:redis-trouble', main);
