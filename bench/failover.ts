/**
 * A Sentinel failover under load: three replicas of the shared breaker
 * (each with its own store, as separate processes have) send steady calls
 * while the primary is killed (SIGKILL) and the sentinels promote its
 * replica (1 s down-after). Side by side in one run: the dependency failing
 * (the breaker open) and healthy (closed). Figures: time from the kill until
 * every replica is back on the shared state, how long each replica decided
 * alone, and the calls that reached the failing dependency meanwhile.
 *
 *   npm run bench:failover        (BENCH_ROUNDS=3 by default)
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { RedisBreakerStore, SharedCircuitBreaker } from '@cb-lab/shared-breaker';
import { startRedisSentinel, type TestRedisSentinel } from '@cb-lab/testing';
import { Redis } from 'ioredis';
import { summarize } from '@cb-lab/load-generator';
import { describeMachine, redisVersionOf } from './machine';
import { writeSection } from './report';
import { log, runBenchmark } from './run';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const REPLICAS = 3;
const THRESHOLD = 5;
const OPEN_MS = 1_000;
/** Calls per second each replica sends. */
const RATE_PER_REPLICA = 100;

type Condition = 'dependency failing (breaker open)' | 'dependency healthy (breaker closed)';
const CONDITIONS: readonly Condition[] = [
  'dependency failing (breaker open)',
  'dependency healthy (breaker closed)',
];

interface Round {
  /** From the kill until every replica is back on the shared state. */
  switchMs: number;
  /** For each replica, how long it decided alone. */
  aloneMs: number[];
  /** Calls that reached the failing dependency from the kill until every replica was back. */
  reachedFailing: number;
  /** Calls that failed from the kill until every replica was back (healthy: none should). */
  failedCalls: number;
  calls: number;
}

async function round(set: TestRedisSentinel, condition: Condition, name: string): Promise<Round> {
  const failing = condition === 'dependency failing (breaker open)';
  const stores: RedisBreakerStore[] = [];
  const breakers: SharedCircuitBreaker[] = [];
  const alone = new Map<SharedCircuitBreaker, { since?: number; total: number }>();
  for (let i = 0; i < REPLICAS; i += 1) {
    const store = new RedisBreakerStore(
      { sentinels: set.sentinels, name: set.name },
      { operationTimeoutMs: 100 },
    );
    const breaker = await new SharedCircuitBreaker(store, {
      name,
      replica: `r${i}`,
      trip: { mode: 'consecutive', threshold: THRESHOLD },
      openMs: OPEN_MS,
      syncIntervalMs: 1_000,
    }).start();
    const spell: { since?: number; total: number } = { total: 0 };
    alone.set(breaker, spell);
    breaker.onStoreChange(({ up }) => {
      if (!up) spell.since = performance.now();
      else if (spell.since !== undefined) {
        spell.total += performance.now() - spell.since;
        spell.since = undefined;
      }
    });
    stores.push(store);
    breakers.push(breaker);
  }

  const counts = { reachedFailing: 0, failed: 0, calls: 0 };
  let counting = false;
  const dependency = async () => {
    await sleep(1);
    if (!failing) return 'ok';
    if (counting) counts.reachedFailing += 1;
    throw new Error('dependency down');
  };
  const stop = { stopped: false };
  const load = Promise.all(
    breakers.map(async (breaker) => {
      const inFlight = new Set<Promise<unknown>>();
      while (!stop.stopped) {
        const call = breaker.execute(dependency).then(
          () => undefined,
          () => {
            if (counting) counts.failed += 1;
          },
        );
        if (counting) counts.calls += 1;
        inFlight.add(call);
        void call.finally(() => inFlight.delete(call));
        await sleep(1_000 / RATE_PER_REPLICA);
      }
      await Promise.all(inFlight);
    }),
  );

  const deadline = performance.now() + 30_000;
  const until = async (done: () => boolean | Promise<boolean>) => {
    while (!(await done())) {
      if (performance.now() > deadline) throw new Error('the failover did not end in 30 s');
      await sleep(10);
    }
  };
  await until(() => breakers.every((b) => b.state === (failing ? 'open' : 'closed')));
  const before = await set.primary();
  counting = true;
  const killedAt = performance.now();
  await set.crashPrimary();
  await until(async () => {
    const now = await set.primary().catch(() => before);
    return now !== before && breakers.every((b) => b.storeUp && b.snapshot().storeServer === now);
  });
  const switchMs = performance.now() - killedAt;
  counting = false;
  stop.stopped = true;
  await load;
  for (const breaker of breakers) breaker.dispose();
  await Promise.all(stores.map((store) => store.close()));
  return {
    switchMs,
    aloneMs: breakers.map((b) => alone.get(b)?.total ?? 0),
    reachedFailing: counts.reachedFailing,
    failedCalls: counts.failed,
    calls: counts.calls,
  };
}

async function main(): Promise<void> {
  const results = new Map<Condition, Round[]>(CONDITIONS.map((c) => [c, []]));
  let machine = describeMachine();
  let n = 0;
  for (let r = 0; r < ROUNDS; r += 1) {
    // The conditions take turns, each on a Sentinel set of its own.
    for (const condition of CONDITIONS) {
      const set = await startRedisSentinel();
      try {
        if (r === 0 && n === 0) {
          const [host, port] = (await set.primary()).split(':');
          const probe = new Redis({ host, port: Number(port) });
          machine = describeMachine(await redisVersionOf(probe));
          probe.disconnect();
          log(
            `Sentinel failover under load: ${REPLICAS} replicas × ${RATE_PER_REPLICA} calls/s, ` +
              `threshold ${THRESHOLD}, open ${OPEN_MS} ms, down-after 1 s, ${ROUNDS} rounds, on ${machine}\n`,
          );
        }
        const result = await round(set, condition, `failover-${(n += 1)}`);
        results.get(condition)?.push(result);
        log(
          `${condition}: back on the shared state ${result.switchMs.toFixed(0)} ms after the kill; ` +
            `${result.reachedFailing} calls reached the failing dependency, ${result.failedCalls} of ${result.calls} failed`,
        );
      } finally {
        await set.stop();
      }
    }
  }
  const median = (values: number[]) => summarize(values).p50;
  const rows = CONDITIONS.map((condition) => {
    const rounds = results.get(condition) ?? [];
    return `| ${condition} | ${median(rounds.map((r) => r.switchMs)).toFixed(0)} (max ${Math.max(...rounds.map((r) => r.switchMs)).toFixed(0)}) | ${median(rounds.flatMap((r) => r.aloneMs)).toFixed(0)} | ${median(rounds.map((r) => r.reachedFailing))} (max ${Math.max(...rounds.map((r) => r.reachedFailing))}) | ${median(rounds.map((r) => r.failedCalls))} of ${median(rounds.map((r) => r.calls))} |`;
  });
  const table = [
    '| condition | kill → every replica back on the shared state, ms (median) | each replica deciding alone, ms (median) | calls reaching the failing dependency meanwhile (median) | calls failed meanwhile (median) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
  log(`\n${table}`);
  await writeSection(
    'failover',
    [
      `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}: a Sentinel set (a primary, a replica, three sentinels, \`down-after-milliseconds\` 1000) in one container; ${REPLICAS} replicas of one breaker, each with its own store, each sending ${RATE_PER_REPLICA} calls/s of about 1 ms; the primary killed with SIGKILL once the breaker is open (dependency failing) or closed (healthy). ${ROUNDS} rounds, the conditions taking turns, a fresh Sentinel set each.`,
      '',
      table,
    ].join('\n'),
  );
}

runBenchmark('bench:failover', main);
