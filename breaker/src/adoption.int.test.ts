import { Redis } from 'ioredis';
import { waitFor } from '@cb-lab/testing';
import { boom, outcome, useBreakerSuite } from './breaker.fixture';

/*
 * What Redis holds now is the truth. Redis can go back to an older copy of a
 * breaker's state: a restart from a snapshot, `appendfsync everysec`, a
 * failover to a replica that lagged. Versions order what arrives out of
 * order; they never make a replica ignore what Redis holds.
 */

jest.setTimeout(60_000);

const suite = useBreakerSuite();
const { teardown, replicas, tripOpen, loopDelayMs } = suite;
let admin: Redis;

beforeAll(() => {
  admin = teardown.add(new Redis(suite.redis.url), (r) => r.quit());
});

const SYNC_MS = 300;
const BUDGET_MS = 100;
/** A regression must be adopted within one sync interval (and the read's own budget). */
const adoptionBoundMs = () => SYNC_MS + BUDGET_MS + loopDelayMs() + 500;

const settings = {
  trip: { mode: 'consecutive', threshold: 2 },
  openMs: 60_000,
  syncIntervalMs: SYNC_MS,
  operationTimeoutMs: BUDGET_MS,
} as const;

/**
 * Two replicas see the breaker open, then closed by a reset; then Redis goes
 * back to the open state, with a lower version and no announcement.
 */
async function openCopyWrittenBack() {
  const breakers = await replicas(2, settings);
  const stateKey = breakers[0]!.keys.state;
  await tripOpen(breakers[0]!, breakers, 2);
  const openCopy = await admin.dumpBuffer(stateKey);
  await breakers[1]!.reset();
  await waitFor(() => breakers.every((b) => b.state === 'closed'), 'every replica to close');
  await admin.restore(stateKey, 0, openCopy, 'REPLACE');
  return breakers;
}

describe('an older copy of the state', () => {
  it('is adopted by every replica when written back with no outage at all', async () => {
    const breakers = await openCopyWrittenBack();
    await waitFor(() => breakers.every((b) => b.state === 'open'), 'every replica to see open', {
      limitMs: adoptionBoundMs(),
    });
  });

  it('is adopted at once when a write finds Redis behind, and the failing dependency is spared', async () => {
    const breakers = await openCopyWrittenBack();
    let calls = 0;
    const failing = () => {
      calls += 1;
      return boom();
    };
    for (let i = 0; i < 30; i += 1) {
      for (const breaker of breakers) await outcome(breaker.execute(failing));
      await Promise.all(breakers.map((b) => b.flush()));
    }
    // Each replica's first failure is written, and the reply shows Redis is open: nothing more.
    expect(calls).toBeLessThanOrEqual(breakers.length);
    expect(breakers.map((b) => b.state)).toEqual(['open', 'open']);
  });

  it('is taken when it carries the write time and version of the state a replica knows', async () => {
    // Two histories can meet at one stamp only when Redis went back and wrote again in the
    // same microsecond; written here by hand, the replicas must still follow Redis.
    const breakers = await replicas(2, settings);
    await breakers[0]!.isolate();
    await waitFor(() => breakers.every((b) => b.state === 'isolated'), 'every replica to isolate');
    await admin.hset(breakers[0]!.keys.state, 'state', 'closed');
    const shared = await breakers[0]!.readShared();
    expect(shared).toMatchObject({ state: 'closed' });
    await waitFor(() => breakers.every((b) => b.state === 'closed'), 'every replica to close', {
      limitMs: adoptionBoundMs(),
    });
  });

  it('is adopted after Redis restarts from an older snapshot', async () => {
    const breakers = await replicas(2, settings);
    await tripOpen(breakers[0]!, breakers, 2);
    await suite.redis.snapshot();
    await breakers[1]!.reset();
    await waitFor(() => breakers.every((b) => b.state === 'closed'), 'every replica to close');

    await suite.redis.kill();
    await suite.redis.revive();
    await suite.redis.forgetSnapshot();

    await waitFor(
      () => breakers.every((b) => b.storeUp && b.state === 'open'),
      'every replica to re-join Redis and see open',
    );
    expect(await breakers[0]!.readShared()).toMatchObject({ state: 'open', epoch: 1 });
  });
});
