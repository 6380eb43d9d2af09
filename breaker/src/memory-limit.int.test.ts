import { FILLER_PREFIX, fillPastMemoryLimit, memoryState, waitFor } from '@cb-lab/testing';
import type { Redis } from 'ioredis';
import { breakerKeys } from './breaker-keys';
import { boom, ok, outcome, useBreakerSuite } from './breaker.fixture';
import type { SharedCircuitBreaker } from './shared-circuit-breaker';

/*
 * Redis at its memory limit, as the lab runs it (docker-compose.yml: `maxmemory` below the
 * container's limit, `maxmemory-policy noeviction`): every write that could grow memory is
 * refused, nothing is ever evicted, and the breaker's scripts (flagged `allow-oom`, their
 * writes bounded) still decide. A policy that evicts would pick among keys with a TTL, and the
 * probe lease, the rate window and the quorum voters all have one.
 */

const suite = useBreakerSuite();
const FILLED = 2_000;

describe('a shared breaker on a Redis at its memory limit (noeviction)', () => {
  let admin: Redis;

  beforeAll(async () => {
    admin = suite.redis.connect();
    await fillPastMemoryLimit(admin, FILLED);
  });

  afterAll(async () => {
    await admin.config('SET', 'maxmemory', '0');
  });

  /** Proves Redis is still full: a new record of the service kind is refused for memory. */
  async function expectFull(): Promise<void> {
    await expect(admin.set('{orders}:record:check', 'x', 'EX', 60)).rejects.toThrow(/^OOM /);
  }

  it('starts, opens, probes under a lease, closes, isolates and resets, and evicts nothing', async () => {
    await expectFull();
    const storeChanges: boolean[] = [];
    const breakers = await suite.replicas(2, { openMs: 300 });
    const [first, second] = breakers as [SharedCircuitBreaker, SharedCircuitBreaker];
    for (const breaker of breakers) breaker.onStoreChange(({ up }) => storeChanges.push(up));
    const keys = breakerKeys(first.name);

    await suite.tripOpen(first, breakers);
    expect(await admin.hget(keys.state, 'state')).toBe('open');

    let leaseDuringProbe = '';
    await waitFor(async () => {
      const result = await outcome(
        second.execute(async ({ probe }) => {
          if (probe) leaseDuringProbe = (await admin.get(keys.probe)) ?? '';
          return ok();
        }),
      );
      return result === 'ok';
    }, 'the open period to end and a probe to close the breaker');
    await second.flush();
    await waitFor(() => breakers.every((b) => b.state === 'closed'), 'both replicas to close');
    expect(leaseDuringProbe).toMatch(/^replica-2#/);

    await first.isolate('at the memory limit');
    await waitFor(() => breakers.every((b) => b.state === 'isolated'), 'both to be isolated');
    await first.reset();
    await waitFor(() => breakers.every((b) => b.state === 'closed'), 'both to be closed again');

    await expectFull();
    expect(storeChanges).toEqual([]);
    expect(await memoryState(admin)).toEqual({ full: true, evicted: 0 });
    expect(await admin.exists(`${FILLER_PREFIX}0`, `${FILLER_PREFIX}${FILLED - 1}`)).toBe(2);
  });

  it('keeps the rate window and the quorum voters, and opens on them', async () => {
    await expectFull();
    const trip = { mode: 'rate' as const, threshold: 0.5, minCalls: 4, windowMs: 2_000 };
    const breakers = await suite.replicas(2, { quorum: 2, trip, flushIntervalMs: 20 });
    const keys = breakerKeys(breakers[0]!.name);
    await Promise.all(
      breakers.map(async (breaker) => {
        for (let i = 0; i < 4; i += 1) await outcome(breaker.execute(boom));
      }),
    );
    await waitFor(async () => (await admin.exists(keys.voters)) === 1, 'both replicas to vote');
    expect(await admin.exists(keys.window)).toBe(1);
    await waitFor(
      async () => (await admin.hget(keys.state, 'state')) === 'open',
      'Redis to open the breaker on the window and the quorum',
    );
    await waitFor(() => breakers.every((b) => b.state === 'open'), 'both replicas to see open');

    await expectFull();
    expect(await memoryState(admin)).toEqual({ full: true, evicted: 0 });
  });
});
