import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  breakerKeys,
  monotonicNow,
  RedisBreakerStore,
  SharedCircuitBreaker,
  type BreakerKeys,
} from '@cb-lab/shared-breaker';
import { LatencyProxy, watchEventLoop, type TestRedis } from '@cb-lab/testing';
import { Redis } from 'ioredis';
import {
  checkInvariants,
  countCalls,
  everyReplicaHearsAnOpening,
  allowances,
  type InvariantResult,
} from './invariants';
import { behaviourAt, CALM_TAIL_MS, type Plan, type RedisEvent } from './plan';
import { Random } from './random';
import { emptyTrace, type Trace, type Trouble } from './trace';
import { TruthRecorder } from './truth';

export interface RunResult {
  plan: Plan;
  trace: Trace;
  checks: InvariantResult[];
  figures: {
    calls: number;
    ran: number;
    probes: number;
    local: number;
    rejected: number;
    worstStoreWaitMs: number;
    slowestOpeningMs: number;
    eventLoopMaxMs: number;
    durationMs: number;
  };
}

interface Instance {
  breaker: SharedCircuitBreaker;
  store: RedisBreakerStore;
  /** Every connection of the instance goes through it, so that Redis can be made slow. */
  proxy: LatencyProxy;
}

/**
 * Runs one chaos plan against a real Redis: `instances` breakers sharing
 * one name, each on its own connections, with callers hammering a
 * dependency that follows the plan, while the plan's Redis events happen.
 * Records everything, then checks the invariants on the record.
 */
export async function runChaos(plan: Plan, redis: TestRedis): Promise<RunResult> {
  const s = plan.settings;
  const started = performance.now();
  const now = () => performance.now() - started;
  const trace = emptyTrace(s.instances);
  const random = new Random(plan.seed);
  const loop = watchEventLoop();
  const name = `chaos-${plan.seed}-${randomUUID().slice(0, 8)}`;
  const keys = breakerKeys(name);

  const observerStore = new RedisBreakerStore(redis.url, { operationTimeoutMs: 2_000 });
  const admin = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 20 });
  admin.on('error', () => undefined);
  await observerStore.ready();
  const truth = await TruthRecorder.start(redis.url, keys, observerStore, now);

  const instances: Instance[] = [];
  for (let i = 0; i < s.instances; i += 1) instances.push(await startInstance(i));

  const stop = { stopped: false };
  const callers = instances.flatMap(({ breaker }, i) =>
    Array.from({ length: s.callersPerInstance }, () => caller(i, breaker, random.fork())),
  );

  const captured: Captured = { keys: [] };
  for (const event of plan.redis) {
    await sleep(Math.max(0, event.at - now()));
    await perform(event, captured);
  }
  const lastTrouble = Math.max(0, ...trace.troubles.map((t) => t.until));
  await sleep(Math.max(0, plan.durationMs - now(), lastTrouble + CALM_TAIL_MS - now()));

  stop.stopped = true;
  await Promise.all(callers);
  trace.endedAt = now();
  trace.eventLoopMaxMs = loop.maxDelayMs();
  loop.stop();
  trace.truth = truth.points;
  for (const { breaker } of instances) await breaker.flush().catch(() => undefined);
  for (const { breaker, store, proxy } of instances) {
    breaker.dispose();
    await store.close();
    await proxy.stop();
  }
  await truth.stop();
  await observerStore.close();
  admin.disconnect();

  const checks = checkInvariants(plan, trace);
  const counted = countCalls(trace.calls);
  const calls = Object.values(trace.outcomes).reduce((sum, n) => sum + n, 0);
  return {
    plan,
    trace,
    checks,
    figures: {
      calls,
      ...counted,
      rejected: trace.outcomes.rejected,
      worstStoreWaitMs: Math.max(0, ...trace.storeWaits),
      slowestOpeningMs: everyReplicaHearsAnOpening(trace, allowances(plan, trace.eventLoopMaxMs))
        .slowestMs,
      eventLoopMaxMs: trace.eventLoopMaxMs,
      durationMs: trace.endedAt,
    },
  };

  async function startInstance(instance: number): Promise<Instance> {
    const proxy = await LatencyProxy.start({ host: '127.0.0.1', port: redis.port });
    const store = new RedisBreakerStore(`redis://127.0.0.1:${proxy.port}`, {
      operationTimeoutMs: s.budgetMs,
    });
    const breaker = new SharedCircuitBreaker(store, {
      name,
      replica: `i${instance}`,
      trip: s.trip,
      openMs: s.openMs,
      maxOpenMs: s.maxOpenMs,
      backoffFactor: s.backoffFactor,
      probeLeaseMs: s.probeLeaseMs,
      syncIntervalMs: s.syncIntervalMs,
      storeRetryMs: s.storeRetryMs,
      flushIntervalMs: s.flushIntervalMs,
    });
    breaker.onTransition(({ from, to, scope }) => {
      const view = breaker.snapshot().localView;
      trace.transitions.push({
        instance,
        at: now(),
        from,
        to,
        scope,
        epoch: view.epoch,
        incarnation: view.incarnation,
      });
    });
    breaker.onStoreChange(({ up }) => trace.storeChanges.push({ instance, at: now(), up }));
    breaker.onCall(({ outcome, storeMs }) => {
      trace.outcomes[outcome] += 1;
      if (storeMs > 0) trace.storeWaits.push(storeMs);
    });
    await breaker.start();
    return { breaker, store, proxy };
  }

  /** One caller: calls through its instance's breaker until the run stops. */
  async function caller(instance: number, breaker: SharedCircuitBreaker, draw: Random) {
    while (!stop.stopped) {
      await breaker
        .execute(async ({ probe }) => {
          const call = { instance, start: now(), end: NaN, probe, storeUp: breaker.storeUp };
          trace.calls.push(call);
          try {
            return await dependency(draw);
          } finally {
            call.end = now();
          }
        })
        .catch(() => undefined);
      await sleep(draw.int(1, s.callerGapMs));
    }
  }

  /** The protected dependency, behaving as the plan says at this moment. */
  async function dependency(draw: Random): Promise<string> {
    switch (behaviourAt(plan, now())) {
      case 'healthy':
        await sleep(1);
        return 'ok';
      case 'failing':
        await sleep(1);
        throw new Error('the dependency fails');
      case 'flaky':
        await sleep(1);
        if (draw.chance(0.5)) throw new Error('the dependency fails now and then');
        return 'ok';
      case 'hanging':
        await sleep(s.hangMs);
        throw new Error('the dependency did not answer in time');
    }
  }

  async function perform(event: RedisEvent, saved: Captured): Promise<void> {
    switch (event.kind) {
      case 'pause': {
        if (event.during !== 'any') await untilAProbe(event.during);
        const trouble = troubleFrom('pause');
        await redis.pause();
        await sleep(event.ms);
        await redis.unpause();
        trouble.until = now();
        return;
      }
      case 'slow': {
        const trouble = troubleFrom('slow');
        for (const { proxy } of instances) proxy.latencyMs = event.latencyMs;
        await sleep(event.ms);
        for (const { proxy } of instances) proxy.latencyMs = 0;
        trouble.until = now();
        return;
      }
      case 'script-flush':
        await admin.script('FLUSH');
        return;
      case 'snapshot':
        await redis.snapshot();
        return;
      case 'restart-empty':
      case 'restart-from-snapshot': {
        truth.forget();
        if (event.kind === 'restart-empty') await redis.forgetSnapshot();
        const trouble = troubleFrom(event.kind);
        await redis.kill();
        await redis.revive();
        trouble.until = now();
        await redis.forgetSnapshot();
        await truth.rebase();
        return;
      }
      case 'capture':
        saved.keys = await capture(admin, keys);
        return;
      case 'rewind': {
        truth.forget();
        await restore(admin, saved.keys);
        troubleFrom('rewind');
        await truth.rebase();
        return;
      }
    }
  }

  function troubleFrom(kind: Trouble['kind']): Trouble {
    const trouble = { kind, from: now(), until: now() };
    trace.troubles.push(trouble);
    return trouble;
  }

  /** Waits (a while at most) until a probe falls due (open, its period about to end), or runs. */
  async function untilAProbe(moment: 'probe due' | 'probe'): Promise<void> {
    const deadline = now() + 2_000;
    while (now() < deadline) {
      const first = instances[0]?.breaker.snapshot();
      const latest = truth.latest;
      if (moment === 'probe' && latest?.state === 'half_open' && latest.probeOwner !== '') return;
      if (moment === 'probe due' && first && latest?.state === 'open') {
        const redisNow = monotonicNow() + first.clockOffsetMs;
        if (latest.halfOpenAt - redisNow <= 20) return;
      }
      await sleep(2);
    }
  }
}

interface Captured {
  keys: { key: string; dump: Buffer | null; expiresAt: number }[];
}

/** The breaker's keys as they are now, to be written back later. */
async function capture(admin: Redis, keys: BreakerKeys): Promise<Captured['keys']> {
  return Promise.all(
    [keys.state, keys.window, keys.probe].map(async (key) => ({
      key,
      dump: await admin.dumpBuffer(key),
      expiresAt: Number(await admin.call('PEXPIRETIME', key)),
    })),
  );
}

/** Writes the captured keys back as they were, with no announcement: Redis went back. */
async function restore(admin: Redis, saved: Captured['keys']): Promise<void> {
  for (const { key, dump, expiresAt } of saved) {
    const [seconds, micros] = await admin.time();
    const redisNow = Number(seconds) * 1_000 + Math.floor(Number(micros) / 1_000);
    if (dump === null || (expiresAt > 0 && expiresAt <= redisNow)) await admin.del(key);
    else if (expiresAt > 0) await admin.restore(key, expiresAt, dump, 'REPLACE', 'ABSTTL');
    else await admin.restore(key, 0, dump, 'REPLACE');
  }
}
