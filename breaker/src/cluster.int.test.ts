import { startRedisCluster, Teardown, waitFor, type TestRedisCluster } from '@cb-lab/testing';
import { Cluster } from 'ioredis';
import { breakerKeys } from './breaker-keys';
import { isStoreMisconfigured } from './breaker-store';
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
  admin = teardown.add(new Cluster([...cluster.nodes]), (c) => c.quit());
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

function store(): RedisBreakerStore {
  return teardown.add(
    new RedisBreakerStore({ clusterNodes: cluster.nodes }, { operationTimeoutMs: 500 }),
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
    const misconfigured = teardown.add(new RedisBreakerStore(`redis://${node}`), (s) => s.close());
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
});
