import { Redis } from 'ioredis';
import { LatencyProxy, waitFor } from '@cb-lab/testing';
import { ok, outcome, sleep, useBreakerSuite } from './breaker.fixture';
import type { SharedCircuitBreaker } from './shared-circuit-breaker';

/*
 * Liveness: once Redis answers and the dependency is healthy, the breaker
 * closes within one open period plus a sync interval, whatever Redis did in
 * between; and no call spends more than one store budget on the store.
 */

jest.setTimeout(60_000);

const suite = useBreakerSuite();
const { teardown, replicas, tripOpen, loopDelayMs } = suite;

const BUDGET_MS = 100;
const SYNC_MS = 300;

/** How often the tests below try a call. */
const POLL_MS = 10;

/**
 * Once Redis answers and the dependency is healthy, the next call probes and
 * closes the breaker within one store budget plus the sync interval (and the
 * event loop's delay, and the tests' own polling).
 */
const closingBoundMs = () => BUDGET_MS + SYNC_MS + loopDelayMs() + POLL_MS;

/** Calls `breaker` with a healthy dependency until a call runs, within `limitMs`. */
async function untilACallRuns(
  breaker: SharedCircuitBreaker,
  limitMs: number,
  what: string,
): Promise<void> {
  const started = performance.now();
  await waitFor(async () => (await outcome(breaker.execute(ok))) === 'ok', 'a call to run', {
    limitMs,
    everyMs: POLL_MS,
  });
  process.stdout.write(
    `${what}: a call ran after ${(performance.now() - started).toFixed(1)} ms ` +
      `(bound ${limitMs.toFixed(0)} ms)\n`,
  );
}

describe('a lease granted to a caller that gave up', () => {
  it('does not stand when Redis ran the request after the caller stopped waiting (Redis paused)', async () => {
    // The lease is long: if it stood, every replica would reject for 10 s.
    const [asker, other] = await replicas(2, {
      trip: { mode: 'consecutive', threshold: 2 },
      openMs: 200,
      probeLeaseMs: 10_000,
      operationTimeoutMs: BUDGET_MS,
      syncIntervalMs: SYNC_MS,
    });
    // One probe first, as a cluster that has run a while has: Redis knows every script.
    await tripOpen(asker!, [asker!, other!], 2);
    await sleep(250);
    expect(await other!.execute(ok)).toBe('ok');
    await other!.flush();
    await waitFor(() => [asker, other].every((b) => b!.state === 'closed'), 'both to close');
    await tripOpen(asker!, [asker!, other!], 2);
    await sleep(250);

    await suite.redis.pause();
    try {
      // The request for the lease waits in the socket; the caller gives up after the budget
      // and runs locally.
      expect(await asker!.execute(ok)).toBe('ok');
      expect(asker!.storeUp).toBe(false);
    } finally {
      await suite.redis.unpause();
    }

    // Redis now grants the lease to a token whose caller is gone. The next healthy call on
    // the replica that never lost Redis probes and closes the breaker for everyone.
    await untilACallRuns(other!, closingBoundMs(), 'Redis paused');
    // Closed everywhere well short of the 10 s lease: the lease did not stand. The asker may
    // still decide locally (its re-join needs a read within the 100 ms budget, which a busy
    // machine can miss for a while), so it gets healthy calls too, as a replica in service
    // would: its local breaker closes on its own probe, or it re-joins the closed state.
    await waitFor(
      async () => {
        await outcome(asker!.execute(ok));
        return other!.storeUp && [asker, other].every((b) => b!.state === 'closed');
      },
      'every replica to close',
      { limitMs: 5_000, everyMs: POLL_MS },
    );
    expect(await other!.readShared()).toMatchObject({ state: 'closed', probeOwner: '' });
  });

  it('is given back when the grant arrives after the budget (a slow Redis)', async () => {
    const proxy = teardown.add(
      await LatencyProxy.start({ host: '127.0.0.1', port: suite.redis.port }),
      (p) => p.stop(),
    );
    const [slow] = await replicas(1, {
      connection: `redis://127.0.0.1:${proxy.port}`,
      trip: { mode: 'consecutive', threshold: 2 },
      openMs: 200,
      probeLeaseMs: 10_000,
      operationTimeoutMs: BUDGET_MS,
      syncIntervalMs: SYNC_MS,
    });
    const [fast] = await replicas(1, {
      name: slow!.name,
      trip: { mode: 'consecutive', threshold: 2 },
      openMs: 200,
      probeLeaseMs: 10_000,
      operationTimeoutMs: BUDGET_MS,
      syncIntervalMs: SYNC_MS,
    });
    await tripOpen(fast!, [slow!, fast!], 2);
    await sleep(250);

    // Each way takes longer than the whole budget: Redis grants the lease, the reply is late.
    proxy.latencyMs = 150;
    expect(await slow!.execute(ok)).toBe('ok'); // it gave up on Redis and ran locally
    await waitFor(
      async () => (await fast!.readShared()).state === 'half_open',
      'Redis to grant the lease',
    );

    // The grant and the lease given back reach Redis 150 ms after they were sent.
    await untilACallRuns(fast!, closingBoundMs() + 2 * 150, 'a slow Redis');
    expect(await fast!.readShared()).toMatchObject({ state: 'closed', probeOwner: '' });
    proxy.latencyMs = 0;
  });

  it('does not stand when Redis comes back from a snapshot taken while this replica probed', async () => {
    const [prober, other] = await replicas(2, {
      trip: { mode: 'consecutive', threshold: 2 },
      openMs: 200,
      probeLeaseMs: 10_000,
      operationTimeoutMs: BUDGET_MS,
      syncIntervalMs: SYNC_MS,
    });
    await tripOpen(prober!, [prober!, other!], 2);
    await sleep(250);
    let finish: () => void = () => undefined;
    const probe = prober!.execute(
      () =>
        new Promise<string>(
          (resolve) =>
            (finish = () => {
              resolve('ok');
            }),
        ),
    );
    await waitFor(() => other!.state === 'half_open', 'the probe to hold the lease');
    await suite.redis.snapshot();
    finish();
    expect(await probe).toBe('ok');
    await prober!.flush();
    await waitFor(() => other!.state === 'closed', 'the probe to close the breaker');

    // Redis restarts from the snapshot: half-open, with a lease nobody is probing under.
    await suite.redis.kill();
    await suite.redis.revive();
    await suite.redis.forgetSnapshot();
    await waitFor(() => [prober, other].every((b) => b!.storeUp), 'both replicas to re-join Redis');
    await untilACallRuns(other!, closingBoundMs(), 'back from a snapshot');
    await waitFor(
      () => [prober, other].every((b) => b!.state === 'closed'),
      'every replica to close',
      { limitMs: closingBoundMs() },
    );
  });
});

describe('one store budget per call at most', () => {
  it('a probe waits on Redis for one round trip, even after SCRIPT FLUSH', async () => {
    const proxy = teardown.add(
      await LatencyProxy.start({ host: '127.0.0.1', port: suite.redis.port }),
      (p) => p.stop(),
    );
    const [breaker] = await replicas(1, {
      connection: `redis://127.0.0.1:${proxy.port}`,
      trip: { mode: 'consecutive', threshold: 2 },
      openMs: 200,
      operationTimeoutMs: BUDGET_MS,
    });
    await tripOpen(breaker!, [breaker!], 2);
    await sleep(250);
    const admin = teardown.add(new Redis(suite.redis.url), (r) => r.quit());
    await admin.script('FLUSH');
    // 40 ms each way: one round trip fits in the budget, two do not.
    proxy.latencyMs = 40;
    const loopBefore = loopDelayMs();

    let callMs = 0;
    const started = performance.now();
    await breaker!.execute(async () => {
      const callStarted = performance.now();
      await sleep(5);
      callMs = performance.now() - callStarted;
      return 'ok';
    });
    const onStoreMs = performance.now() - started - callMs;
    proxy.latencyMs = 0;

    process.stdout.write(
      `probe after SCRIPT FLUSH, Redis 80 ms away: ${onStoreMs.toFixed(1)} ms on the store (budget ${BUDGET_MS} ms)\n`,
    );
    expect(onStoreMs).toBeLessThanOrEqual(BUDGET_MS + Math.max(loopBefore, loopDelayMs()) + 5);
    await breaker!.flush();
    expect(breaker!.state).toBe('closed');
  });
});

describe('the Redis clock estimate', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('is unmoved when the wall clock steps back', async () => {
    // Only Date is faked, running with real time, so that the wall clock can be stepped.
    jest.useFakeTimers({
      advanceTimers: true,
      doNotFake: [
        'hrtime',
        'nextTick',
        'performance',
        'queueMicrotask',
        'requestAnimationFrame',
        'cancelAnimationFrame',
        'requestIdleCallback',
        'cancelIdleCallback',
        'setImmediate',
        'clearImmediate',
        'setInterval',
        'clearInterval',
        'setTimeout',
        'clearTimeout',
      ],
    });
    const [breaker] = await replicas(1, {
      trip: { mode: 'consecutive', threshold: 1 },
      openMs: 1_000,
    });
    await tripOpen(breaker!, [breaker!], 1);
    const { halfOpenAt } = await breaker!.readShared();
    const untilHalfOpen = halfOpenAt - Date.now();

    jest.setSystemTime(Date.now() - 60_000);
    expect(breaker!.retryAfterSeconds()).toBeLessThanOrEqual(1);
    await sleep(untilHalfOpen + 50);
    expect(await breaker!.execute(ok)).toBe('ok');
    await breaker!.flush();
    expect(breaker!.state).toBe('closed');
  });
});
