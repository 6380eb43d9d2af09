import { Registry } from 'prom-client';
import { parseSamples } from '@cb-lab/shared';
import { instrumentBreaker } from './breaker-metrics';
import type { BreakerStore, ChannelSubscription } from './breaker-store';
import { MemoryBreakerStore } from './memory-breaker-store';
import { SharedCircuitBreaker } from './shared-circuit-breaker';

/*
 * What the scrape would otherwise hide, on the memory store: the probe lease
 * and its holder, a replica's distance from the shared state, the store's
 * round trips, and an isolation's end and reason.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const started: SharedCircuitBreaker[] = [];
afterEach(() => {
  for (const breaker of started.splice(0)) breaker.dispose();
});

let names = 0;

async function instrumented(store: BreakerStore, syncIntervalMs = 30) {
  const name = `m-${++names}`;
  const replica = 'replica-1';
  const registry = new Registry();
  const breaker = new SharedCircuitBreaker(store, {
    name,
    replica,
    trip: { mode: 'consecutive', threshold: 1 },
    openMs: 50,
    syncIntervalMs,
  });
  started.push(breaker);
  instrumentBreaker(breaker, registry);
  await breaker.start();
  const samples = async (metric: string) =>
    parseSamples(await registry.metrics()).filter((sample) => sample.name === metric);
  return { breaker, registry, samples };
}

/**
 * A store whose subscriptions hear nothing: the replica learns only by
 * reading. `resubscribed()` tells it the subscription came back, so it
 * reads once, when the test says.
 */
function deafStore(store: MemoryBreakerStore): BreakerStore & { resubscribed(): void } {
  const subscriptions: ChannelSubscription[] = [];
  return {
    resubscribed: () => {
      for (const subscription of subscriptions) subscription.onSubscribed?.();
    },
    operationTimeoutMs: store.operationTimeoutMs,
    ready: () => store.ready(),
    subscribe: (channel: string, subscription: ChannelSubscription) => {
      subscriptions.push(subscription);
      return store.subscribe(channel, { ...subscription, onMessage: () => undefined });
    },
    read: (keys) => store.read(keys),
    recordConsecutive: (...args) => store.recordConsecutive(...args),
    recordRate: (...args) => store.recordRate(...args),
    acquireProbe: (...args) => store.acquireProbe(...args),
    releaseProbe: (...args) => store.releaseProbe(...args),
    force: (...args) => store.force(...args),
    endIsolation: (keys) => store.endIsolation(keys),
    close: () => store.close(),
  };
}

describe('the breaker metrics a scrape cannot see happen', () => {
  it('names the probe lease holder and when the lease ends, and none otherwise', async () => {
    const { breaker, samples } = await instrumented(new MemoryBreakerStore());
    expect(await samples('circuit_breaker_probe_lease_expiry_seconds')).toEqual([
      expect.objectContaining({ labels: expect.objectContaining({ holder: 'none' }), value: 0 }),
    ]);
    await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => undefined);
    await breaker.flush();
    await sleep(60);
    let release: () => void = () => undefined;
    const probe = breaker.execute(() => new Promise<void>((resolve) => (release = resolve)));
    await sleep(5);
    const [lease] = await samples('circuit_breaker_probe_lease_expiry_seconds');
    expect(lease?.labels.holder).toBe('replica-1');
    expect(lease!.value * 1_000).toBeGreaterThan(Date.now());
    release();
    await probe;
  });

  it('measures the store round trip and the time since the store last answered', async () => {
    const { samples } = await instrumented(new MemoryBreakerStore());
    const [count] = await samples('circuit_breaker_store_round_trip_seconds_count');
    expect(count?.value).toBeGreaterThan(0);
    const [age] = await samples('circuit_breaker_store_sync_age_seconds');
    expect(age?.value).toBeGreaterThanOrEqual(0);
    expect(age?.value).toBeLessThan(60);
  });

  it('counts the transitions a replica only caught up on by reading', async () => {
    const store = new MemoryBreakerStore();
    const deaf = deafStore(store);
    // No periodic read within the test: the only one is the one it asks for.
    const { breaker, samples } = await instrumented(deaf, 60_000);
    expect((await samples('circuit_breaker_view_epochs_behind'))[0]?.value).toBe(0);
    // Changed behind its back: it hears no message, and its next read finds the change.
    await store.force(breaker.keys, 'isolated', 'by hand');
    await store.force(breaker.keys, 'closed');
    await store.force(breaker.keys, 'isolated', 'again');
    expect(breaker.state).toBe('closed');
    deaf.resubscribed();
    for (let i = 0; i < 1_000 && breaker.state !== 'isolated'; i += 1) await sleep(5);
    expect(breaker.state).toBe('isolated');
    expect((await samples('circuit_breaker_view_epochs_behind'))[0]?.value).toBe(3);
  });

  it('shows an isolation’s end and reason, and +Inf for one until a reset', async () => {
    const { breaker, samples } = await instrumented(new MemoryBreakerStore());
    expect(await samples('circuit_breaker_isolated_until_seconds')).toEqual([
      expect.objectContaining({ labels: expect.objectContaining({ reason: '' }), value: 0 }),
    ]);
    await breaker.isolate('gateway deploy', 60_000);
    const [timed] = await samples('circuit_breaker_isolated_until_seconds');
    expect(timed?.labels.reason).toBe('gateway deploy');
    expect(timed!.value * 1_000).toBeGreaterThan(Date.now() + 50_000);
    await breaker.isolate('until further notice');
    const [open] = await samples('circuit_breaker_isolated_until_seconds');
    expect(open).toMatchObject({ value: Infinity, labels: { reason: 'until further notice' } });
  });
});
