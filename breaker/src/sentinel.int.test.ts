import { startRedisSentinel, Teardown, waitFor, type TestRedisSentinel } from '@cb-lab/testing';
import { isStoreMisconfigured } from './breaker-store';
import { RedisBreakerStore } from './redis-breaker-store';
import type { SharedBreakerState } from './breaker-state';
import { CallLoad } from './call-load.fixture';
import { SharedCircuitBreaker } from './shared-circuit-breaker';

/*
 * The breaker on a real Sentinel set (a primary, a replica, three
 * sentinels), and through a real failover: the primary shut down under the
 * breaker, the sentinels promoting the replica.
 */

jest.setTimeout(120_000);

const teardown = new Teardown();
let sentinel: TestRedisSentinel;

beforeAll(async () => {
  sentinel = teardown.add(await startRedisSentinel(), (s) => s.stop());
});
afterAll(() => teardown.run());

const boom = () => Promise.reject(new Error('dependency down'));
let names = 0;

interface ReplicaSettings {
  set?: TestRedisSentinel;
  name?: string;
  threshold?: number;
  openMs?: number;
}

/** `count` replicas of one new breaker, each with its own store on the Sentinel set. */
async function replicas(
  count: number,
  { set = sentinel, name = set.name, threshold = 2, openMs = 300 }: ReplicaSettings = {},
): Promise<SharedCircuitBreaker[]> {
  const breakerName = `sentinel-${process.pid}-${++names}`;
  const started = [];
  for (let i = 0; i < count; i += 1) {
    const store = teardown.add(
      new RedisBreakerStore(
        { sentinels: set.sentinels, name },
        { operationTimeoutMs: 500, connectTimeoutMs: 1_000 },
      ),
      (s) => s.close(),
    );
    const breaker = new SharedCircuitBreaker(store, {
      name: breakerName,
      replica: `replica-${i + 1}`,
      trip: { mode: 'consecutive', threshold },
      openMs,
      storeRetryMs: 100,
      syncIntervalMs: 500,
    });
    teardown.add(breaker, async (b) => {
      b.dispose();
      await Promise.resolve();
    });
    started.push(await breaker.start());
  }
  return started;
}

/** A Sentinel set of its own, for a test that fails its primary over. */
async function freshSet(): Promise<TestRedisSentinel> {
  return teardown.add(await startRedisSentinel(), (s) => s.stop());
}

/** Waits until every replica runs on the shared state again, served by `server`. */
async function rejoined(all: SharedCircuitBreaker[], server: () => Promise<string>) {
  await waitFor(
    async () => {
      const now = await server();
      return all.every((b) => b.storeUp && b.snapshot().storeServer === now);
    },
    'every replica to re-join on the new primary',
    { limitMs: 30_000, everyMs: 20 },
  );
}

describe('the shared breaker on Redis Sentinel', () => {
  it('opens and closes for every replica through the primary the sentinels name', async () => {
    const all = await replicas(2);
    expect(all.every((b) => b.storeUp)).toBe(true);
    for (let i = 0; i < 2; i += 1) await all[0]!.execute(boom).catch(() => undefined);
    await all[0]!.flush();
    await waitFor(() => all.every((b) => b.state === 'open'), 'both replicas to open');
    await waitFor(
      async () => await all[1]!.execute(({ probe }) => probe).catch(() => false),
      'a probe to run once the open period is over',
    );
    await all[1]!.flush();
    await waitFor(() => all.every((b) => b.state === 'closed'), 'both replicas to close');
  });

  it('refuses to start with a primary name no sentinel knows, saying so', async () => {
    const error: unknown = await replicas(1, { name: 'no-such-primary' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStoreMisconfigured(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /no sentinel .* knows a primary named "no-such-primary"/,
    );
  });

  it('rides out a primary shut down under concurrent calls: no wedge, one opening, the switch reported', async () => {
    const set = await freshSet();
    const all = await replicas(3, { set, threshold: 5, openMs: 1_000 });
    const load = new CallLoad(all).start();
    load.failing = true;
    await waitFor(() => all.every((b) => b.state === 'open'), 'every replica to open');
    const before = await set.primary();
    expect(all.every((b) => b.snapshot().storeServer === before)).toBe(true);

    const reachedBefore = load.reachedFailing;
    const killedAt = performance.now();
    await set.killPrimary();
    await rejoined(all, () => set.primary());
    const switchMs = performance.now() - killedAt;
    const duringSwitch = load.reachedFailing - reachedBefore;
    process.stdout.write(
      `sentinel failover ${before} → ${await set.primary()}: every replica back on the shared ` +
        `state ${switchMs.toFixed(0)} ms after the primary went down; ${duringSwitch} calls ` +
        `reached the failing dependency meanwhile (${load.calls} calls in all)\n`,
    );
    for (const breaker of all) {
      expect(breaker.snapshot()).toMatchObject({ storeTopology: 'sentinel', storeSwitches: 1 });
      expect(breaker.state).not.toBe('closed');
    }

    // Never wedged: once the dependency heals, a probe on the new primary closes it for all.
    load.failing = false;
    await waitFor(() => all.every((b) => b.state === 'closed'), 'every replica to close');
    await load.stop();
    // One real outage, one opening: the failover opened nothing again.
    for (const breaker of all) expect(load.opensOf(breaker)).toBe(1);
    expect(await all[0]!.readShared()).toMatchObject({ state: 'closed' });
  });

  it('adopts what a promoted replica holds when the failover lost the opening, and opens again', async () => {
    const set = await freshSet();
    const all = await replicas(3, { set, threshold: 5, openMs: 60_000 });
    const load = new CallLoad(all).start();
    await waitFor(() => all.every((b) => b.storeUp), 'every replica to join');

    let lost: SharedBreakerState | undefined;
    await set.crashPrimaryLosing(async () => {
      load.failing = true;
      await waitFor(() => all.every((b) => b.state === 'open'), 'every replica to open');
      lost = all[0]!.snapshot().localView;
    });
    const reachedBefore = load.reachedFailing;
    await rejoined(all, () => set.primary());
    // The promoted replica never saw the opening: every replica took what it holds, and the
    // still-failing dependency opened the breaker again on the new primary.
    await waitFor(() => all.every((b) => b.state === 'open'), 'every replica to open again');
    const reachedAfter = load.reachedFailing - reachedBefore;
    const shared = await all[0]!.readShared();
    process.stdout.write(
      `sentinel failover lost the opening: ${reachedAfter} calls reached the failing ` +
        `dependency before the breaker opened again on ${await set.primary()}\n`,
    );
    // Not the lost opening (that one was never replicated), a new one.
    expect(shared).toMatchObject({ state: 'open', openCount: 1 });
    expect(shared.openedAt).toBeGreaterThan(lost!.openedAt);
    for (const breaker of all) {
      expect(breaker.snapshot().storeSwitches).toBe(1);
      // A replica back before the new opening saw closed, then open; a later one, open only.
      expect([1, 2]).toContain(load.opensOf(breaker));
    }
    await all[0]!.reset();
    load.failing = false;
    await waitFor(() => all.every((b) => b.state === 'closed'), 'every replica to close');
    await load.stop();
  });
});
