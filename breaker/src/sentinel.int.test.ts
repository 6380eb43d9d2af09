import { startRedisSentinel, Teardown, waitFor, type TestRedisSentinel } from '@cb-lab/testing';
import { isStoreMisconfigured } from './breaker-store';
import { RedisBreakerStore } from './redis-breaker-store';
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

async function replicas(count: number, name = sentinel.name): Promise<SharedCircuitBreaker[]> {
  const breakerName = `sentinel-${process.pid}-${++names}`;
  const started = [];
  for (let i = 0; i < count; i += 1) {
    const store = teardown.add(
      new RedisBreakerStore(
        { sentinels: sentinel.sentinels, name },
        { operationTimeoutMs: 500, connectTimeoutMs: 1_000 },
      ),
      (s) => s.close(),
    );
    const breaker = new SharedCircuitBreaker(store, {
      name: breakerName,
      replica: `replica-${i + 1}`,
      trip: { mode: 'consecutive', threshold: 2 },
      openMs: 300,
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
    const error: unknown = await replicas(1, 'no-such-primary').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStoreMisconfigured(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /no sentinel .* knows a primary named "no-such-primary"/,
    );
  });

  it('rides out a failover: every replica re-joins on the new primary, and the breaker still closes', async () => {
    const all = await replicas(2);
    for (let i = 0; i < 2; i += 1) await all[0]!.execute(boom).catch(() => undefined);
    await all[0]!.flush();
    await waitFor(() => all.every((b) => b.state === 'open'), 'both replicas to open');
    const before = await sentinel.primary();

    const killedAt = performance.now();
    await sentinel.killPrimary();
    await waitFor(async () => (await sentinel.primary()) !== before, 'the sentinels to fail over', {
      limitMs: 30_000,
      everyMs: 100,
    });
    await waitFor(
      async () =>
        all.every((b) => b.storeUp) &&
        (await all[0]!.readShared().then(
          () => true,
          () => false,
        )),
      'both replicas to re-join on the new primary',
      { limitMs: 30_000, everyMs: 50 },
    );
    process.stdout.write(
      `failover: ${before} → ${await sentinel.primary()}; both replicas back on the shared ` +
        `state ${(performance.now() - killedAt).toFixed(0)} ms after the primary went down\n`,
    );

    // Never wedged: a healthy call probes and closes the breaker for both.
    await waitFor(
      async () => await all[1]!.execute(({ probe }) => probe).catch(() => false),
      'a probe to run on the new primary',
    );
    await all[1]!.flush();
    await waitFor(() => all.every((b) => b.state === 'closed' && b.storeUp), 'both to close');
    expect(await all[0]!.readShared()).toMatchObject({ state: 'closed' });
  });
});
