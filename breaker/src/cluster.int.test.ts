import { startRedisCluster, Teardown, waitFor, type TestRedisCluster } from '@cb-lab/testing';
import { Cluster } from 'ioredis';
import { replicaFactory, type ReplicaOptions } from './breaker.fixture';
import { breakerKeys } from './breaker-keys';
import { isStoreMisconfigured } from './breaker-store';
import {
  CallLoad,
  openingLostInFailover,
  primaryLostUnderLoad,
  rejoinedOn,
  settled,
} from './failover.fixture';
import { RedisBreakerStore } from './redis-breaker-store';
import { SharedCircuitBreaker } from './shared-circuit-breaker';

/*
 * The breaker on a real Redis Cluster of three primaries: each breaker's
 * scripts go to the node holding its slot, and its transitions reach every
 * replica whichever node that replica's subscription sits on.
 */

jest.setTimeout(120_000);

const teardown = new Teardown();
let cluster: TestRedisCluster;
let admin: Cluster;

beforeAll(async () => {
  cluster = teardown.add(await startRedisCluster(), (c) => c.stop());
  admin = teardown.add(
    new Cluster([...cluster.nodes], { redisOptions: { password: cluster.password } }),
    (c) => c.quit(),
  );
});
afterAll(() => teardown.run());

const boom = () => Promise.reject(new Error('dependency down'));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The primary (`host:port`) holding each slot, from CLUSTER SLOTS. */
async function slotOwners(): Promise<(slot: number) => string> {
  const ranges = (await admin.cluster('SLOTS')) as unknown as [number, number, [string, number]][];
  return (slot) => {
    const range = ranges.find(([from, to]) => slot >= from && slot <= to);
    if (!range) throw new Error(`no node holds slot ${slot}`);
    return `${range[2][0]}:${range[2][1]}`;
  };
}

const { replicas, tripOpen } = replicaFactory(teardown, () => ({
  clusterNodes: cluster.nodes,
  password: cluster.password,
}));

/** A cluster of its own, for a test that kills nodes. */
async function freshCluster(): Promise<TestRedisCluster> {
  return teardown.add(await startRedisCluster(), (c) => c.stop());
}

const failoverSettings: ReplicaOptions = {
  trip: { mode: 'consecutive', threshold: 5 },
  syncIntervalMs: 60_000,
  operationTimeoutMs: 500,
};

/** Three replicas on `own`, opening after 5 consecutive failures. */
function threeOn(own: TestRedisCluster, openMs: number) {
  return replicas(3, {
    ...failoverSettings,
    connection: { clusterNodes: own.nodes, password: own.password },
    openMs,
    syncIntervalMs: 500,
  });
}

function store(): RedisBreakerStore {
  return teardown.add(
    new RedisBreakerStore(
      { clusterNodes: cluster.nodes, password: cluster.password },
      { operationTimeoutMs: 500 },
    ),
    (s) => s.close(),
  );
}

describe('the shared breaker on a Redis Cluster', () => {
  it('opens and closes 20 breakers spread over the three primaries, on two replicas', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `cluster-${process.pid}-${i}`);
    const ownerOf = await slotOwners();
    const owners = new Map<string, string>();
    for (const name of names) {
      const slot = await admin.cluster('KEYSLOT', breakerKeys(name, '').state);
      owners.set(name, ownerOf(slot));
    }
    const perNode = new Map<string, number>();
    for (const owner of owners.values()) perNode.set(owner, (perNode.get(owner) ?? 0) + 1);
    process.stdout.write(`breakers per primary: ${JSON.stringify(Object.fromEntries(perNode))}\n`);
    expect(perNode.size).toBe(3);

    // One store per replica serves all its breakers, as in a service.
    const [first, second] = [store(), store()];
    const pairs: { name: string; a: SharedCircuitBreaker; b: SharedCircuitBreaker }[] = [];
    for (const name of names) {
      const options = {
        name,
        trip: { mode: 'consecutive' as const, threshold: 2 },
        openMs: 300,
        syncIntervalMs: 60_000,
      };
      const a = new SharedCircuitBreaker(first, { ...options, replica: 'a' });
      const b = new SharedCircuitBreaker(second, { ...options, replica: 'b' });
      for (const breaker of [a, b])
        teardown.add(breaker, async (started) => {
          started.dispose();
          await Promise.resolve();
        });
      await Promise.all([a.start(), b.start()]);
      expect([a.storeUp, b.storeUp]).toEqual([true, true]);
      // Each says which primary holds its slot.
      expect(a.snapshot()).toMatchObject({
        storeTopology: 'cluster',
        storeServer: owners.get(name),
      });
      pairs.push({ name, a, b });
    }

    // Opened through one replica: the other hears it, whichever node its subscription is on.
    for (const { a } of pairs) {
      for (let i = 0; i < 2; i += 1) await a.execute(boom).catch(() => undefined);
      await a.flush();
    }
    await waitFor(
      () => pairs.every(({ a, b }) => a.state === 'open' && b.state === 'open'),
      'every breaker to open on both replicas',
    );
    for (const { a } of pairs) expect(await a.readShared()).toMatchObject({ state: 'open' });

    // Closed through the other replica's probe, once its open period is over.
    await sleep(300);
    for (const { b } of pairs)
      await waitFor(
        async () => await b.execute(({ probe }) => probe).catch(() => false),
        'a probe to run',
      );
    await Promise.all(pairs.map(({ b }) => b.flush()));
    await waitFor(
      () => pairs.every(({ a, b }) => a.state === 'closed' && b.state === 'closed'),
      'every breaker to close on both replicas',
    );
    expect(pairs.every(({ a, b }) => a.storeUp && b.storeUp)).toBe(true);
  });

  it('refuses to start on a cluster node given as a standalone URL, saying what to give', async () => {
    const [node] = cluster.nodes;
    const misconfigured = teardown.add(
      new RedisBreakerStore(`redis://:${cluster.password}@${node}`),
      (s) => s.close(),
    );
    const breaker = new SharedCircuitBreaker(misconfigured, {
      name: `misconfigured-${process.pid}`,
      trip: { mode: 'consecutive', threshold: 2 },
      openMs: 300,
    });
    const error: unknown = await breaker.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStoreMisconfigured(error)).toBe(true);
    expect((error as Error).message).toMatch(/Redis Cluster node.*clusterNodes/);
  });

  it('follows its slot when resharding moves it, and reports the move', async () => {
    const all = await threeOn(cluster, 60_000);
    const key = all[0]!.keys.state;
    const from = await cluster.primaryOf(key);
    const to = cluster.nodes.find((node) => node !== from) ?? from;
    const load = new CallLoad(all).start();
    await waitFor(
      () => all.every((b) => b.storeUp && b.snapshot().storeServer === from),
      "every replica on the slot's first owner",
    );
    await cluster.moveSlotOf(key, to, async () => {
      // While the slot migrates (ASK, TRYAGAIN), failures still open the breaker for all.
      load.failing = true;
      await waitFor(() => all.every((b) => b.state === 'open'), 'every replica to open');
    });
    await rejoinedOn(all, () => cluster.primaryOf(key), from);
    expect(all.map((b) => b.snapshot().storeSwitches)).toEqual([1, 1, 1]);
    expect(await cluster.primaryOf(key)).toBe(to);
    // One opening in the shared state, whatever a replica went through alone meanwhile.
    expect(await settled(() => all[0]!.readShared())).toMatchObject({
      state: 'open',
      openCount: 1,
    });

    // On the new owner it still closes for everyone.
    load.failing = false;
    await settled(() => all[0]!.reset());
    await waitFor(() => all.every((b) => b.state === 'closed'), 'every replica to close');
    await load.stop();
  });

  it('stops trusting its view when the node under its subscription dies, then moves and reads', async () => {
    const own = await freshCluster();
    const all = await replicas(3, {
      ...failoverSettings,
      connection: { clusterNodes: own.nodes, password: own.password },
    });
    const changes = all.map((breaker) => {
      const seen: boolean[] = [];
      breaker.onStoreChange(({ up }) => seen.push(up));
      return seen;
    });
    const [node] = await own.nodesWithSubscribers();
    if (!node) throw new Error('no node has a subscriber');
    await own.crash(node);
    // Those whose subscription was there left the shared state and came back; the others
    // never noticed.
    await waitFor(
      () => changes.some((seen) => seen.includes(false)),
      'a replica to leave the shared state',
    );
    await waitFor(() => all.every((b) => b.storeUp), 'every replica back on the shared state');
    // (One whose breaker's slot was on the dead node also lost its commands until the failover:
    // it may leave and come back more than once.)
    const moved = changes.filter((seen) => seen.length > 0);
    expect(moved.length).toBeGreaterThan(0);
    for (const seen of moved) expect(seen).toEqual(seen.map((_, i) => i % 2 === 1));
    for (const seen of moved) expect(seen.at(-1)).toBe(true);

    // Every subscription hears the next transition (no periodic read within the test).
    await tripOpen(all[0]!, all, 5);
  });

  it('rides out the crash of the primary holding the breaker under concurrent calls', async () => {
    const own = await freshCluster();
    const all = await threeOn(own, 1_000);
    const key = all[0]!.keys.state;
    await primaryLostUnderLoad(all, {
      topology: 'cluster',
      primary: () => own.primaryOf(key),
      kill: async () => own.crash(await own.primaryOf(key)),
    });
  });

  it('adopts what a promoted replica holds when the failover lost the opening, and opens again', async () => {
    const own = await freshCluster();
    const all = await threeOn(own, 60_000);
    const key = all[0]!.keys.state;
    await openingLostInFailover(all, {
      topology: 'cluster',
      primary: () => own.primaryOf(key),
      crashLosing: (write) => own.crashPrimaryLosing(key, write),
    });
  });
});
