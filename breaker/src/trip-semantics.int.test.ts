import { BrokenCircuitError, IsolatedCircuitError } from 'cockatiel';
import { LatencyProxy, waitFor } from '@cb-lab/testing';
import type { FailureRate } from './breaker-options';
import { boom, nextTurn, ok, outcome, sleep, useBreakerSuite } from './breaker.fixture';
import { monotonicNow } from './redis-clock';
import type { SharedCircuitBreaker } from './shared-circuit-breaker';

/* What opens the shared breaker, exactly: the cluster's outcomes, in the order Redis gets them. */

jest.setTimeout(60_000);

const suite = useBreakerSuite();
const { teardown, replicas } = suite;

const flushAll = (breakers: SharedCircuitBreaker[]) => Promise.all(breakers.map((b) => b.flush()));

describe('consecutive failures', () => {
  it('F S F F on one replica, one event-loop turn apart, is two consecutive failures, not three', async () => {
    const [breaker] = await replicas(1, { trip: { mode: 'consecutive', threshold: 3 } });
    for (const call of [boom, ok, boom, boom]) {
      await outcome(breaker!.execute(call));
      await nextTurn();
    }
    await breaker!.flush();
    expect(await breaker!.readShared()).toMatchObject({ state: 'closed', failures: 2 });
  });

  it('F S on one replica, then F and F on two others, is two consecutive failures', async () => {
    const breakers = await replicas(3, { trip: { mode: 'consecutive', threshold: 3 } });
    await outcome(breakers[0]!.execute(boom));
    await nextTurn();
    await breakers[0]!.execute(ok);
    await breakers[0]!.flush();
    await outcome(breakers[1]!.execute(boom));
    await breakers[1]!.flush();
    await outcome(breakers[2]!.execute(boom));
    await breakers[2]!.flush();
    expect(await breakers[0]!.readShared()).toMatchObject({ state: 'closed', failures: 2 });
  });

  it('a failure of a call started before Redis lost its state does not count in a new incarnation', async () => {
    const [a, b] = await replicas(2, {
      trip: { mode: 'consecutive', threshold: 2 },
      syncIntervalMs: 300,
      operationTimeoutMs: 100,
    });
    // Redis holds nothing for this breaker yet: the call starts on the empty state.
    expect(a!.snapshot().localView).toMatchObject({ incarnation: 0, epoch: 0 });
    let failLate: () => void = () => undefined;
    const late = a!.execute(
      () =>
        new Promise(
          (_, reject) =>
            (failLate = () => {
              reject(new Error('late failure'));
            }),
        ),
    );
    // The state is created (incarnation I1), then lost with a restart, then created again (I2).
    await outcome(b!.execute(boom));
    await b!.flush();
    await waitFor(() => a!.snapshot().localView.incarnation > 0, 'a to learn I1');
    await suite.redis.kill();
    await suite.redis.revive();
    await waitFor(() => [a, b].every((r) => r!.storeUp), 'both replicas to re-join Redis');
    await outcome(b!.execute(boom));
    await b!.flush();
    const second = await b!.readShared();
    expect(second).toMatchObject({ state: 'closed', failures: 1 });
    await waitFor(
      () => a!.snapshot().localView.incarnation === second.incarnation,
      'a to learn I2',
    );

    // The call belonged to I1, which is gone: its failure must not open I2.
    failLate();
    await outcome(late);
    await a!.flush();
    expect(await b!.readShared()).toMatchObject({ state: 'closed', failures: 1 });
  });

  it('a failure reported late, from before a reset, does not wipe the failures after it', async () => {
    const [breaker] = await replicas(1, { trip: { mode: 'consecutive', threshold: 10 } });
    let failLate: () => void = () => undefined;
    const late = breaker!.execute(
      () =>
        new Promise(
          (_, reject) =>
            (failLate = () => {
              reject(new Error('late'));
            }),
        ),
    );
    await breaker!.isolate();
    await breaker!.reset();
    for (let i = 0; i < 10; i += 1) await outcome(breaker!.execute(boom));
    failLate();
    await outcome(late);
    await breaker!.flush();
    expect(await breaker!.readShared()).toMatchObject({ state: 'open' });
  });
});

const rate = (threshold: number, minCalls: number): FailureRate => ({
  mode: 'rate',
  threshold,
  minCalls,
  windowMs: 5_000,
  buckets: 10,
});

describe('failure rate', () => {
  /** Waits until Redis has decided a window holding `calls` calls. */
  async function decided(breaker: SharedCircuitBreaker, calls: number) {
    await waitFor(async () => {
      const shared = await breaker.readShared();
      return shared.state !== 'closed' || shared.calls === calls;
    }, `a decision on a window of ${calls} calls`);
    return breaker.readShared();
  }

  it('is the cluster’s: one replica failing while two succeed (33 %) does not open at 50 %', async () => {
    const breakers = await replicas(3, { trip: rate(0.5, 6), flushIntervalMs: 20 });
    // Interleaved, so that any part of the window holding 6 calls or more is under 50 %.
    for (let i = 0; i < 10; i += 1) {
      await outcome(breakers[0]!.execute(boom));
      await breakers[1]!.execute(ok);
      await breakers[2]!.execute(ok);
    }
    await flushAll(breakers);
    expect(await decided(breakers[0]!, 30)).toMatchObject({
      state: 'closed',
      calls: 30,
      failures: 10,
    });
  });

  it('opens when the cluster’s window is over the threshold (67 % at 50 %)', async () => {
    const breakers = await replicas(3, { trip: rate(0.5, 6), flushIntervalMs: 20 });
    for (let i = 0; i < 10; i += 1) {
      await outcome(breakers[0]!.execute(boom));
      await outcome(breakers[1]!.execute(boom));
      await breakers[2]!.execute(ok);
    }
    await flushAll(breakers);
    await waitFor(() => breakers.every((b) => b.state === 'open'), 'every replica to see open');
  });

  it.each([
    [55, 0.55],
    [7, 0.07],
    [50, 0.5],
  ])('opens at exactly the threshold: %i failures of 100 at %f', async (failures, threshold) => {
    const [breaker] = await replicas(1, { trip: rate(threshold, 100), flushIntervalMs: 20 });
    // Successes first: until the 100th call the window is under the minimum, then exactly at it.
    for (let i = 0; i < 100 - failures; i += 1) await breaker!.execute(ok);
    for (let i = 0; i < failures; i += 1) await outcome(breaker!.execute(boom));
    await breaker!.flush();
    await waitFor(() => breaker!.state === 'open', 'the breaker to open');
  });

  it('stays closed one failure under the threshold: 54 failures of 100 at 0.55', async () => {
    const [breaker] = await replicas(1, { trip: rate(0.55, 100), flushIntervalMs: 20 });
    for (let i = 0; i < 46; i += 1) await breaker!.execute(ok);
    for (let i = 0; i < 54; i += 1) await outcome(breaker!.execute(boom));
    await breaker!.flush();
    expect(await decided(breaker!, 100)).toMatchObject({ state: 'closed', failures: 54 });
  });

  it('accepts a threshold of 1: opens only when every call in the window failed', async () => {
    const breakers = await replicas(1, {
      trip: rate(1, 4),
      flushIntervalMs: 20,
      whenStoreDown: 'local',
    });
    const [breaker] = breakers;
    for (let i = 0; i < 3; i += 1) await outcome(breaker!.execute(boom));
    await breaker!.execute(ok);
    await breaker!.flush();
    expect(await decided(breaker!, 4)).toMatchObject({ state: 'closed', failures: 3 });
    await breaker!.reset();
    for (let i = 0; i < 4; i += 1) await outcome(breaker!.execute(boom));
    await breaker!.flush();
    await waitFor(() => breaker!.state === 'open', 'the breaker to open');
  });
});

describe('the local breaker that stands in while Redis is away', () => {
  it('rejects a breaker that was open with BrokenCircuitError, not IsolatedCircuitError', async () => {
    const [breaker] = await replicas(1, {
      trip: { mode: 'consecutive', threshold: 1 },
      syncIntervalMs: 100,
    });
    await outcome(breaker!.execute(boom));
    await breaker!.flush();
    await waitFor(() => breaker!.state === 'open', 'the breaker to open');
    await suite.redis.pause();
    try {
      await waitFor(() => !breaker!.storeUp, 'the breaker to notice Redis is gone');
      const rejection = await outcome(breaker!.execute(ok));
      expect(rejection).toBeInstanceOf(BrokenCircuitError);
      expect(rejection).not.toBeInstanceOf(IsolatedCircuitError);
      expect(breaker!.state).toBe('open');
    } finally {
      await suite.redis.unpause();
    }
  });

  it('keeps an operator’s isolation, with IsolatedCircuitError', async () => {
    const [breaker] = await replicas(1, { syncIntervalMs: 100 });
    await breaker!.isolate();
    await suite.redis.pause();
    try {
      await waitFor(() => !breaker!.storeUp, 'the breaker to notice Redis is gone');
      expect(await outcome(breaker!.execute(ok))).toBeInstanceOf(IsolatedCircuitError);
      expect(breaker!.state).toBe('isolated');
    } finally {
      await suite.redis.unpause();
    }
    await waitFor(() => breaker!.storeUp, 're-joining');
    await breaker!.reset();
  });

  it('runs with a rate threshold of 1 too', async () => {
    const [breaker] = await replicas(1, { trip: rate(1, 4), syncIntervalMs: 100 });
    await suite.redis.pause();
    try {
      await waitFor(() => !breaker!.storeUp, 'the breaker to notice Redis is gone');
      expect(await breaker!.execute(ok)).toBe('ok');
    } finally {
      await suite.redis.unpause();
    }
  });
});

describe('failure rate on a slow Redis', () => {
  const BUDGET_MS = 400;
  const FLUSH_MS = 400;
  const BUCKET_MS = 500;

  const redisNow = (breaker: SharedCircuitBreaker) =>
    monotonicNow() + breaker.snapshot().clockOffsetMs;
  const until = (breaker: SharedCircuitBreaker, redisAt: number) =>
    sleep(Math.max(0, redisAt - redisNow(breaker)));

  /**
   * One bucket of the cluster: 11 successes on a replica behind a slow link, 2 failures on
   * another (15 %, under the 50 % threshold), timed so that the slow replica's last
   * outcomes come while a write of it is in flight. The shared state once it settled.
   */
  async function oneBucket(latencyMs: number) {
    const proxy = teardown.add(
      await LatencyProxy.start({ host: '127.0.0.1', port: suite.redis.port }),
      (p) => p.stop(),
    );
    const settings = {
      trip: { mode: 'rate', threshold: 0.5, minCalls: 3, windowMs: BUCKET_MS, buckets: 1 },
      openMs: 60_000,
      operationTimeoutMs: BUDGET_MS,
      flushIntervalMs: FLUSH_MS,
    } as const;
    const [slow] = await replicas(1, {
      ...settings,
      connection: `redis://127.0.0.1:${proxy.port}`,
    });
    const [fast] = await replicas(1, { ...settings, name: slow!.name });
    proxy.latencyMs = latencyMs;

    const end = (Math.floor(redisNow(slow!) / BUCKET_MS) + 3) * BUCKET_MS;
    await until(slow!, end - 450);
    expect(await slow!.execute(ok)).toBe('ok'); // its write leaves at end − 50
    await until(fast!, end - 100);
    for (let i = 0; i < 2; i += 1) await outcome(fast!.execute(boom));
    await until(slow!, end - 30);
    for (let i = 0; i < 10; i += 1) expect(await slow!.execute(ok)).toBe('ok');

    // Past the bucket's settling time and the next bucket's decision.
    await until(fast!, end + FLUSH_MS + 3 * BUDGET_MS + BUCKET_MS);
    await Promise.all([slow!.flush(), fast!.flush()]);
    expect(slow!.storeUp && fast!.storeUp).toBe(true); // no write went over the budget
    const shared = await fast!.readShared();
    proxy.latencyMs = 0;
    const bucket = end / BUCKET_MS - 1;
    return { state: shared.state, decided: shared.decidedBucket >= bucket };
  }

  it('decides a bucket on the whole cluster’s calls when Redis is fast', async () => {
    expect(await oneBucket(0)).toEqual({ state: 'closed', decided: true });
  });

  it('still waits for every replica when a round trip takes most of the budget', async () => {
    // 170 ms each way: a 340 ms round trip, within the 400 ms budget. Decided on the slow
    // replica's first success and the fast one's two failures alone, the bucket would open.
    expect(await oneBucket(170)).toEqual({ state: 'closed', decided: true });
  });
});
