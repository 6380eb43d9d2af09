import { startRedisSentinel, Teardown, waitFor, type TestRedisSentinel } from '@cb-lab/testing';
import { replicaFactory, type ReplicaOptions } from './breaker.fixture';
import { isStoreMisconfigured } from './breaker-store';
import { openingLostInFailover, primaryLostUnderLoad } from './failover.fixture';

/*
 * The breaker on a real Sentinel set (a primary, a replica, three
 * sentinels), and through real failovers: the primary shut down, or crashed
 * with writes its replica never got, and the sentinels promoting the replica.
 */

jest.setTimeout(120_000);

const teardown = new Teardown();
let sentinel: TestRedisSentinel;
const { replicas } = replicaFactory(teardown, () => ({
  sentinels: sentinel.sentinels,
  name: sentinel.name,
}));

beforeAll(async () => {
  sentinel = teardown.add(await startRedisSentinel(), (s) => s.stop());
});
afterAll(() => teardown.run());

const boom = () => Promise.reject(new Error('dependency down'));

const settings: ReplicaOptions = {
  trip: { mode: 'consecutive', threshold: 2 },
  openMs: 300,
  syncIntervalMs: 500,
  operationTimeoutMs: 500,
  connectTimeoutMs: 1_000,
};

/** A Sentinel set of its own, for a test that fails its primary over. */
async function freshSet(): Promise<TestRedisSentinel> {
  return teardown.add(await startRedisSentinel(), (s) => s.stop());
}

/** Three replicas on `set`, opening after 5 consecutive failures. */
const threeOn = (set: TestRedisSentinel, openMs: number) =>
  replicas(3, {
    ...settings,
    connection: { sentinels: set.sentinels, name: set.name },
    trip: { mode: 'consecutive', threshold: 5 },
    openMs,
  });

describe('the shared breaker on Redis Sentinel', () => {
  it('opens and closes for every replica through the primary the sentinels name', async () => {
    const all = await replicas(2, settings);
    expect(all.every((b) => b.storeUp)).toBe(true);
    expect(all[0]!.snapshot()).toMatchObject({
      storeTopology: 'sentinel',
      storeServer: await sentinel.primary(),
    });
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
    // With the store's default connect timeout, which the breaker's start does not outwait.
    const error: unknown = await replicas(1, {
      ...settings,
      connectTimeoutMs: undefined,
      connection: { sentinels: sentinel.sentinels, name: 'no-such-primary' },
    }).then(
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
    await primaryLostUnderLoad(await threeOn(set, 1_000), {
      topology: 'sentinel',
      primary: () => set.primary(),
      kill: () => set.killPrimary(),
    });
  });

  it('adopts what a promoted replica holds when the failover lost the opening, and opens again', async () => {
    const set = await freshSet();
    await openingLostInFailover(await threeOn(set, 60_000), {
      topology: 'sentinel',
      primary: () => set.primary(),
      crashLosing: (write) => set.crashPrimaryLosing(write),
    });
  });
});
