import { BrokenCircuitError, IsolatedCircuitError } from 'cockatiel';
import type { SharedCircuitBreakerOptions } from './breaker-options';
import { ConsecutiveStrategy } from './consecutive-strategy';
import { MemoryBreakerStore } from './memory-breaker-store';
import { assertFollowsTheModel } from './model-commands.fixture';
import { SharedCircuitBreaker, type BreakerTransition } from './shared-circuit-breaker';

/*
 * The state machine on the memory store: replicas in one process sharing one
 * store, as replicas share one Redis, with no network. The store contract
 * tests prove the memory store decides as the Redis scripts do; the Redis
 * integration tests prove the rest (connections, timeouts, pub/sub).
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const boom = () => Promise.reject(new Error('dependency down'));
const ok = () => Promise.resolve('ok');

async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    return await promise;
  } catch (error) {
    return error;
  }
}

/** Polls `condition` every few milliseconds; fails naming `what` after a generous limit. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 5_000) throw new Error(`gave up waiting for ${what}`);
    await sleep(5);
  }
}

const started: SharedCircuitBreaker[] = [];
afterEach(() => {
  for (const breaker of started.splice(0)) breaker.dispose();
});

let names = 0;

async function replicas(
  store: MemoryBreakerStore,
  count: number,
  options: Partial<SharedCircuitBreakerOptions> = {},
): Promise<SharedCircuitBreaker[]> {
  const name = `unit-${++names}`;
  const breakers = [];
  for (let i = 0; i < count; i += 1) {
    const breaker = new SharedCircuitBreaker(store, {
      name,
      replica: `replica-${i + 1}`,
      trip: { mode: 'consecutive', threshold: 3 },
      openMs: 60_000,
      storeRetryMs: 20,
      syncIntervalMs: 60_000,
      ...options,
    });
    started.push(breaker);
    breakers.push(await breaker.start());
  }
  return breakers;
}

describe('replicas sharing one store', () => {
  it('open together on failures spread over them', async () => {
    const store = new MemoryBreakerStore();
    const all = await replicas(store, 3);
    for (const breaker of all) await outcome(breaker.execute(boom));
    await Promise.all(all.map((b) => b.flush()));
    await until(() => all.every((b) => b.state === 'open'), 'every replica to open');
    for (const breaker of all)
      expect(await outcome(breaker.execute(ok))).toBeInstanceOf(BrokenCircuitError);
    expect(await all[0]!.readShared()).toMatchObject({ state: 'open', failures: 3 });
  });

  it('let exactly one of many concurrent callers probe, then close together', async () => {
    const store = new MemoryBreakerStore();
    const all = await replicas(store, 3, { openMs: 50 });
    for (let i = 0; i < 3; i += 1) await outcome(all[0]!.execute(boom));
    await all[0]!.flush();
    await until(() => all.every((b) => b.state === 'open'), 'every replica to open');
    await sleep(60);

    let probes = 0;
    let ran = 0;
    const calls = all.flatMap((breaker) =>
      Array.from({ length: 10 }, () =>
        outcome(
          breaker.execute(async ({ probe }) => {
            ran += 1;
            if (probe) probes += 1;
            await sleep(20);
            return 'ok';
          }),
        ),
      ),
    );
    const results = await Promise.all(calls);
    expect({ probes, ran }).toEqual({ probes: 1, ran: 1 });
    expect(results.filter((r) => r instanceof BrokenCircuitError)).toHaveLength(29);
    await Promise.all(all.map((b) => b.flush()));
    await until(() => all.every((b) => b.state === 'closed'), 'every replica to close');
  });

  it('reopen for a longer period on every replica when the probe fails', async () => {
    const store = new MemoryBreakerStore();
    const all = await replicas(store, 2, { openMs: 40, maxOpenMs: 1_000, backoffFactor: 4 });
    for (let i = 0; i < 3; i += 1) await outcome(all[0]!.execute(boom));
    await all[0]!.flush();
    await sleep(50);
    expect(await outcome(all[1]!.execute(boom))).toBeInstanceOf(Error);
    await all[1]!.flush();
    await until(() => all.every((b) => b.state === 'open'), 'every replica to reopen');
    const shared = await all[0]!.readShared();
    expect(shared).toMatchObject({ openCount: 2 });
    expect(shared.halfOpenAt - shared.openedAt).toBe(160);
  });

  it('follow an isolate and a reset made on one of them', async () => {
    const store = new MemoryBreakerStore();
    const all = await replicas(store, 3);
    await all[1]!.isolate();
    await until(() => all.every((b) => b.state === 'isolated'), 'every replica to isolate');
    expect(await outcome(all[2]!.execute(ok))).toBeInstanceOf(IsolatedCircuitError);
    await all[2]!.reset();
    await until(() => all.every((b) => b.state === 'closed'), 'every replica to close');
    expect(await all[0]!.execute(ok)).toBe('ok');
  });

  it('hear an isolate from an operator with its typed reason and the words given', async () => {
    const store = new MemoryBreakerStore();
    const [first, second] = await replicas(store, 2);
    const seen: BreakerTransition[] = [];
    second!.onTransition((t) => seen.push(t));
    await first!.isolate('gateway maintenance');
    await first!.reset();
    await until(() => seen.length === 2, 'the other replica to hear both');
    expect(seen).toEqual([
      {
        from: 'closed',
        to: 'isolated',
        reason: 'isolated by an operator',
        scope: 'shared',
        note: 'gateway maintenance',
      },
      { from: 'isolated', to: 'closed', reason: 'reset by an operator', scope: 'shared' },
    ]);
  });

  it('take a trip strategy object as the trip', async () => {
    const store = new MemoryBreakerStore();
    const trip = new ConsecutiveStrategy({ mode: 'consecutive', threshold: 2 });
    const [breaker] = await replicas(store, 1, { trip });
    expect(breaker!.options.trip).toBe(trip);
    for (let i = 0; i < 2; i += 1) await outcome(breaker!.execute(boom));
    await breaker!.flush();
    await until(() => breaker!.state === 'open', 'the breaker to open');
    expect(breaker!.snapshot().mode).toBe('consecutive');
  });

  it('tell where each transition comes from', async () => {
    const store = new MemoryBreakerStore();
    const [first, second] = await replicas(store, 2);
    const seen: BreakerTransition[] = [];
    second!.onTransition((t) => seen.push(t));
    for (let i = 0; i < 3; i += 1) await outcome(first!.execute(boom));
    await first!.flush();
    await until(() => second!.state === 'open', 'the other replica to open');
    expect(seen).toEqual([
      { from: 'closed', to: 'open', reason: 'failure threshold reached', scope: 'shared' },
    ]);
  });
});

describe('a replica whose store goes away', () => {
  it('decides alone on its local breaker, then re-joins and adopts the shared state', async () => {
    const store = new MemoryBreakerStore();
    const [breaker] = await replicas(store, 1);
    store.setAvailable(false);
    await until(() => !breaker!.storeUp, 'the replica to notice');
    expect(breaker!.snapshot().store).toBe('local');
    for (let i = 0; i < 3; i += 1) await outcome(breaker!.execute(boom));
    expect(breaker!.state).toBe('open');

    store.setAvailable(true);
    await until(() => breaker!.storeUp, 'the replica to re-join');
    // What the local breaker learned is not merged: the shared state, closed, is the truth.
    expect(breaker!.state).toBe('closed');
    expect(await breaker!.execute(ok)).toBe('ok');
  });

  it('ends a timed isolation whose end came while Redis was away, once Redis is back', async () => {
    const store = new MemoryBreakerStore();
    const [breaker, other] = await replicas(store, 2, { syncIntervalMs: 20 });
    await breaker!.isolate('deploy', 100);
    await until(() => other!.state === 'isolated', 'the isolation to reach every replica');
    store.setAvailable(false);
    await until(() => !breaker!.storeUp && !other!.storeUp, 'the replicas to notice');
    // The end passes while Redis is away: each replica's timer finds no store.
    await sleep(200);
    store.setAvailable(true);
    await until(() => breaker!.storeUp && other!.storeUp, 'the replicas to re-join');
    await until(
      () => breaker!.state === 'closed' && other!.state === 'closed',
      'Redis to end the isolation',
    );
    expect((await breaker!.readShared()).state).toBe('closed');
  });

  it('rejects every call meanwhile when told to', async () => {
    const store = new MemoryBreakerStore();
    const [breaker] = await replicas(store, 1, { whenStoreDown: 'reject' });
    store.setAvailable(false);
    await until(() => !breaker!.storeUp, 'the replica to notice');
    expect(await outcome(breaker!.execute(ok))).toBeInstanceOf(BrokenCircuitError);
    store.setAvailable(true);
    await until(() => breaker!.storeUp, 'the replica to re-join');
    expect(await breaker!.execute(ok)).toBe('ok');
  });

  it('adopts a store that forgot everything (a restart without persistence)', async () => {
    const store = new MemoryBreakerStore();
    const all = await replicas(store, 2, { syncIntervalMs: 20 });
    for (let i = 0; i < 3; i += 1) await outcome(all[0]!.execute(boom));
    await all[0]!.flush();
    await until(() => all.every((b) => b.state === 'open'), 'every replica to open');
    store.clear();
    await until(() => all.every((b) => b.state === 'closed'), 'every replica to adopt it');
  });
});

describe('the state machine against the reference model', () => {
  it('consecutive mode: every sequence of calls, held calls, waits, isolate and reset', async () => {
    await assertFollowsTheModel(
      async (options) => (await replicas(new MemoryBreakerStore(), 1, options))[0]!,
    );
  }, 120_000);
});
