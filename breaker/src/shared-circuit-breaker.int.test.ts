import {
  BrokenCircuitError,
  ConstantBackoff,
  fallback,
  handleType,
  handleWhen,
  isBrokenCircuitError,
  IsolatedCircuitError,
  retry,
  timeout,
  TimeoutStrategy,
  wrap,
} from 'cockatiel';
import { LatencyProxy, waitFor } from '@cb-lab/testing';
import { boom, ok, outcome, sleep, useBreakerSuite } from './breaker.fixture';
import { isHttpDependencyFailure } from './failure-classifier';

jest.setTimeout(60_000);

const suite = useBreakerSuite();
const { teardown, replicas, tripOpen, watchChannel } = suite;

const commandsSince = async (before: Record<string, number>) => {
  const after = await suite.redis.commandCounts();
  return Object.entries(after)
    .filter(([name]) => name !== 'info')
    .reduce((sum, [name, calls]) => sum + calls - (before[name] ?? 0), 0);
};

describe('one breaker shared by several replicas', () => {
  it('records exactly one closed→open transition when replicas fail concurrently, with consistent counts', async () => {
    const breakers = await replicas(5);
    const messages = await watchChannel(breakers[0]!.keys.channel);
    let calls = 0;
    const failing = () => {
      calls += 1;
      return sleep(1).then(boom);
    };

    await Promise.all(
      breakers.flatMap((b) => Array.from({ length: 10 }, () => outcome(b.execute(failing)))),
    );
    await Promise.all(breakers.map((b) => b.flush()));
    await waitFor(() => breakers.every((b) => b.state === 'open'), 'every replica to see open');

    const shared = await breakers[0]!.readShared();
    expect(shared).toMatchObject({ state: 'open', epoch: 1, openCount: 1 });
    expect(messages.filter((m) => m.from === 'closed' && m.state.state === 'open')).toHaveLength(1);
    // Each announced count is the one before it plus one batch: no report was lost or counted twice.
    const counts = messages.filter((m) => m.state.epoch === 0).map((m) => m.state.failures);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(new Set(counts).size).toBe(counts.length);
    expect(shared.failures).toBeGreaterThanOrEqual(5);
    expect(shared.failures).toBeLessThanOrEqual(calls);
    for (const b of breakers) expect(b.snapshot().localView).toEqual(shared);
  });

  it('brings a transition to every replica through pub/sub', async () => {
    const breakers = await replicas(3, { trip: { mode: 'consecutive', threshold: 1 } });
    const seenAt = new Map<string, number>();
    for (const b of breakers) {
      b.onStateChange((state) => {
        if (state === 'open') seenAt.set(b.options.replica, performance.now());
      });
    }
    const probe = suite.redis.connect();
    const rttStarted = performance.now();
    for (let i = 0; i < 20; i += 1) await probe.ping();
    const roundTripMs = (performance.now() - rttStarted) / 20;

    const started = performance.now();
    await outcome(breakers[0]!.execute(boom));
    await waitFor(() => seenAt.size === 3, 'every replica to see the transition');

    const delays = [...seenAt.values()].map((at) => at - started);
    process.stdout.write(
      `transition reached all replicas after ${delays.map((d) => d.toFixed(2)).join(', ')} ms ` +
        `(Redis round trip ${roundTripMs.toFixed(3)} ms; slowest = ${(Math.max(...delays) / roundTripMs).toFixed(1)} round trips)\n`,
    );
    expect(breakers.map((b) => b.state)).toEqual(['open', 'open', 'open']);
  });

  it('while open, no replica calls the protected function, and rejecting costs no Redis command', async () => {
    const breakers = await replicas(3);
    await tripOpen(breakers[0]!, breakers);
    const before = await suite.redis.commandCounts();
    const protectedCall = jest.fn(ok);

    const results = await Promise.all(
      breakers.flatMap((b) => Array.from({ length: 20 }, () => outcome(b.execute(protectedCall)))),
    );

    expect(protectedCall).not.toHaveBeenCalled();
    expect(results.every((r) => r instanceof BrokenCircuitError)).toBe(true);
    expect(await commandsSince(before)).toBe(0);
  });

  it('lets a closed, healthy breaker succeed without a single Redis command', async () => {
    const breakers = await replicas(3);
    const before = await suite.redis.commandCounts();
    for (let i = 0; i < 300; i += 1) await Promise.all(breakers.map((b) => b.execute(ok)));
    expect(await commandsSince(before)).toBe(0);
  });

  it('after the open period lets exactly one call in the cluster probe, then closes everywhere', async () => {
    const breakers = await replicas(4, { openMs: 300 });
    await tripOpen(breakers[0]!, breakers);
    await sleep(350);
    let probes = 0;
    const slowSuccess = async () => {
      probes += 1;
      await sleep(50);
      return 'healed';
    };

    const results = await Promise.all(
      breakers.flatMap((b) => Array.from({ length: 10 }, () => outcome(b.execute(slowSuccess)))),
    );

    expect(probes).toBe(1);
    expect(results.filter((r) => r === 'healed')).toHaveLength(1);
    expect(results.filter((r) => r instanceof BrokenCircuitError)).toHaveLength(39);
    await waitFor(() => breakers.every((b) => b.state === 'closed'), 'every replica to close');
    expect(await breakers[0]!.readShared()).toMatchObject({
      state: 'closed',
      failures: 0,
      openCount: 0,
    });
  });

  it('does not let a prober that never reports wedge the breaker: its lease expires', async () => {
    const [crashed, survivor] = await replicas(2, { openMs: 100, probeLeaseMs: 400 });
    await tripOpen(crashed!, [crashed!, survivor!]);
    await sleep(150);
    let unblock: (value: string) => void = () => undefined;
    const hung = crashed!.execute(() => new Promise<string>((resolve) => (unblock = resolve)));
    await waitFor(() => survivor!.state === 'half_open', 'the survivor to see half-open');

    expect(await outcome(survivor!.execute(ok))).toBeInstanceOf(BrokenCircuitError);
    await sleep(450);
    expect(await survivor!.execute(ok)).toBe('ok');
    await waitFor(() => crashed!.state === 'closed', 'the crashed replica to learn of the close');

    // The hung prober's late report names a lease it no longer holds: it changes nothing.
    const epoch = (await survivor!.readShared()).epoch;
    unblock('late');
    expect(await hung).toBe('late');
    expect(await survivor!.readShared()).toMatchObject({ state: 'closed', epoch });
  });

  it('reopens after a failed probe for a longer period, up to the cap', async () => {
    const breakers = await replicas(2, { openMs: 200, maxOpenMs: 500, backoffFactor: 2 });
    await tripOpen(breakers[0]!, breakers);
    const periods: number[] = [];
    const period = async () => {
      const s = await breakers[0]!.readShared();
      return s.halfOpenAt - s.openedAt;
    };
    periods.push(await period());
    for (let attempt = 0; attempt < 2; attempt += 1) {
      await sleep((await period()) + 50);
      expect(await outcome(breakers[attempt % 2]!.execute(boom))).toEqual(
        new Error('dependency down'),
      );
      await waitFor(
        () => breakers.every((b) => b.state === 'open'),
        'every replica to see the reopening',
      );
      periods.push(await period());
    }
    expect(periods).toEqual([200, 400, 500]);
    expect((await breakers[0]!.readShared()).openCount).toBe(3);
  });

  it('isolates and resets the whole cluster', async () => {
    const breakers = await replicas(3);
    await breakers[1]!.isolate('maintenance');
    await waitFor(() => breakers.every((b) => b.state === 'isolated'), 'every replica to isolate');
    expect(await outcome(breakers[2]!.execute(ok))).toBeInstanceOf(IsolatedCircuitError);

    await breakers[2]!.reset();
    await waitFor(() => breakers.every((b) => b.state === 'closed'), 'every replica to close');
    expect(await breakers[0]!.execute(ok)).toBe('ok');
  });

  it('makes a new replica join the state the cluster is in', async () => {
    const breakers = await replicas(2);
    await tripOpen(breakers[0]!, breakers);
    const [newcomer] = await replicas(1, { name: breakers[0]!.name });
    expect(newcomer!.state).toBe('open');
    expect(newcomer!.snapshot()).toMatchObject({ store: 'redis', state: 'open', failures: 5 });
    const protectedCall = jest.fn(ok);
    expect(await outcome(newcomer!.execute(protectedCall))).toBeInstanceOf(BrokenCircuitError);
    expect(protectedCall).not.toHaveBeenCalled();
  });
});

describe('trip conditions', () => {
  it('opens on the failure rate over the window once it holds the minimum number of calls', async () => {
    const [breaker] = await replicas(1, {
      trip: { mode: 'rate', threshold: 0.5, minCalls: 10, windowMs: 5_000 },
      flushIntervalMs: 10,
    });
    for (let i = 0; i < 6; i += 1) await outcome(breaker!.execute(boom));
    await breaker!.flush();
    expect(breaker!.state).toBe('closed'); // 6 failures, but fewer than 10 calls
    for (let i = 0; i < 30; i += 1) await breaker!.execute(ok);
    await breaker!.flush();
    expect(breaker!.state).toBe('closed'); // 6 of 36 failed
    for (let i = 0; i < 30; i += 1) await outcome(breaker!.execute(boom));
    await breaker!.flush();
    await waitFor(() => breaker!.state === 'open', 'the rate to open the breaker');
    expect(await breaker!.readShared()).toMatchObject({ state: 'open' });
  });

  it('counts slow successes as failures but still returns their value', async () => {
    const [breaker] = await replicas(1, {
      trip: { mode: 'consecutive', threshold: 3 },
      slowCallMs: 20,
    });
    const slow = async () => {
      await sleep(40);
      return 'late but fine';
    };
    for (let i = 0; i < 3; i += 1) expect(await breaker!.execute(slow)).toBe('late but fine');
    await breaker!.flush();
    await waitFor(() => breaker!.state === 'open', 'slow calls to open the breaker');
  });

  it('never counts errors the classifier excludes', async () => {
    const declined = Object.assign(new Error('card declined'), { status: 402 });
    const [breaker] = await replicas(1, {
      trip: { mode: 'consecutive', threshold: 2 },
      isFailure: isHttpDependencyFailure,
    });
    for (let i = 0; i < 10; i += 1)
      expect(await outcome(breaker!.execute(() => Promise.reject(declined)))).toBe(declined);
    await breaker!.flush();
    expect(await breaker!.readShared()).toMatchObject({ state: 'closed', failures: 0 });
  });

  it('counts every error by default, as cockatiel handleAll does', async () => {
    const declined = Object.assign(new Error('card declined'), { status: 402 });
    const [breaker] = await replicas(1, { trip: { mode: 'consecutive', threshold: 2 } });
    for (let i = 0; i < 2; i += 1) await outcome(breaker!.execute(() => Promise.reject(declined)));
    await breaker!.flush();
    expect(await breaker!.readShared()).toMatchObject({ state: 'open', failures: 2 });
  });
});

describe('composition with cockatiel', () => {
  it('works inside wrap with timeout and fallback, and handleType sees its rejections', async () => {
    const [breaker] = await replicas(1, { trip: { mode: 'consecutive', threshold: 2 } });
    const policy = wrap(
      fallback(handleType(BrokenCircuitError), 'from the fallback'),
      breaker!,
      timeout(20, TimeoutStrategy.Aggressive),
    );
    const hang = () => new Promise<string>(() => undefined);

    // Timeouts are failures to the breaker; the first two surface as cockatiel's TaskCancelledError.
    for (let i = 0; i < 2; i += 1)
      expect(await outcome(policy.execute(hang))).toMatchObject({ isTaskCancelledError: true });
    await breaker!.flush();
    await waitFor(() => breaker!.state === 'open', 'timeouts to open the breaker');
    expect(await policy.execute(hang)).toBe('from the fallback');
  });

  it('counts every attempt of a retry placed outside it, and is not retried once it rejects', async () => {
    const [breaker] = await replicas(1, { trip: { mode: 'consecutive', threshold: 3 } });
    const policy = wrap(
      retry(
        handleWhen((error) => !isBrokenCircuitError(error)),
        {
          maxAttempts: 5,
          // Long enough for each failure's report to reach Redis before the next attempt.
          backoff: new ConstantBackoff(20),
        },
      ),
      breaker!,
    );
    let attempts = 0;
    const failing = () => {
      attempts += 1;
      return boom();
    };

    const result = await outcome(policy.execute(failing));

    // Three attempts fail and open the breaker; the fourth is refused and ends the retries.
    await breaker!.flush();
    expect(breaker!.state).toBe('open');
    expect(attempts).toBe(3);
    expect(result).toBeInstanceOf(BrokenCircuitError);
  });
});

describe('when Redis is in trouble', () => {
  it('keeps calls flowing through the local breaker while Redis is paused, then re-joins', async () => {
    const [breaker, other] = await replicas(2, {
      trip: { mode: 'consecutive', threshold: 3 },
      operationTimeoutMs: 100,
    });
    const storeChanges: boolean[] = [];
    breaker!.onStoreChange(({ up }) => storeChanges.push(up));
    let calls = 0;
    const failing = () => {
      calls += 1;
      return boom();
    };

    await suite.redis.pause();
    try {
      // Awaited while Redis is still paused: a breaker that waited on Redis would hang here.
      for (let i = 0; i < 3; i += 1) await outcome(breaker!.execute(failing));
      await breaker!.flush();
      await waitFor(() => !breaker!.storeUp, 'the breaker to notice the store is gone');
      for (let i = 0; i < 3; i += 1) await outcome(breaker!.execute(failing));
      expect(breaker!.snapshot()).toMatchObject({ store: 'local' });
      await waitFor(() => breaker!.state === 'open', 'the local breaker to open');
      const before = calls;
      expect(await outcome(breaker!.execute(failing))).toBeInstanceOf(BrokenCircuitError);
      expect(calls).toBe(before);
      expect(await other!.execute(ok)).toBe('ok');
    } finally {
      await suite.redis.unpause();
    }

    await waitFor(() => breaker!.storeUp, 'the breaker to re-join the shared state');
    expect(breaker!.snapshot()).toMatchObject({
      store: 'redis',
      state: (await breaker!.readShared()).state,
    });
    expect(storeChanges).toEqual([false, true]);
  });

  it('decides locally while its subscription is down, and catches up on what it missed', async () => {
    const trip = { mode: 'consecutive', threshold: 2 } as const;
    const [deaf] = await replicas(1, { trip });
    const storeChanges: boolean[] = [];
    deaf!.onStoreChange(({ up }) => storeChanges.push(up));
    const admin = suite.redis.connect();

    // Its subscriber connection is dropped; its command connection stays up.
    await admin.client('KILL', 'TYPE', 'pubsub');
    await waitFor(() => !deaf!.storeUp, 'the replica to stop trusting its view');
    const [other] = await replicas(1, { name: deaf!.name, trip });
    await outcome(other!.execute(boom));
    await outcome(other!.execute(boom));
    await other!.flush();

    await waitFor(() => deaf!.storeUp, 'the replica to re-subscribe and re-join');
    expect(deaf!.state).toBe('open');
    expect(storeChanges).toEqual([false, true]);
  });

  it('stays off the shared state once disposed, even when a read was in flight', async () => {
    const proxy = teardown.add(
      await LatencyProxy.start({ host: '127.0.0.1', port: suite.redis.port }),
      (p) => p.stop(),
    );
    const [breaker] = await replicas(1, {
      connection: `redis://127.0.0.1:${proxy.port}`,
      operationTimeoutMs: 300,
    });
    const changes: boolean[] = [];
    breaker!.onStoreChange(({ up }) => changes.push(up));
    // A read over the budget: the breaker degrades and reads again every 100 ms.
    proxy.latencyMs = 200;
    await outcome(breaker!.readShared());
    expect(breaker!.storeUp).toBe(false);
    proxy.latencyMs = 100; // a round trip of 200 ms now fits in the budget
    await sleep(150); // the next read is on its way
    breaker!.dispose();
    const disposedAt = changes.length;
    await sleep(600);
    expect({ storeUp: breaker!.storeUp, changesAfterDispose: changes.slice(disposedAt) }).toEqual({
      storeUp: false,
      changesAfterDispose: [],
    });
    proxy.latencyMs = 0;
  });

  it('probes locally when Redis pauses just as the open period ends', async () => {
    const breakers = await replicas(1, { openMs: 100, operationTimeoutMs: 100 });
    await tripOpen(breakers[0]!, breakers);
    await sleep(150);
    await suite.redis.pause();
    try {
      expect(await breakers[0]!.execute(ok)).toBe('ok');
      expect(breakers[0]!.snapshot()).toMatchObject({ store: 'local', state: 'closed' });
    } finally {
      await suite.redis.unpause();
    }
    await waitFor(() => breakers[0]!.storeUp, 're-joining');
  });

  it('carries on when Redis is stopped, and re-joins a fresh Redis when it is back', async () => {
    // Rejections while open never touch Redis: the periodic read is what notices it is gone.
    const breakers = await replicas(2, {
      trip: { mode: 'consecutive', threshold: 2 },
      syncIntervalMs: 100,
    });
    await tripOpen(breakers[0]!, breakers, 2);
    await suite.redis.kill();
    try {
      await waitFor(
        () => breakers.every((b) => !b.storeUp),
        'the replicas to notice Redis is gone',
      );
      // The last shared state was open: the local breaker holds it open for the rest of the period.
      expect(breakers[0]!.snapshot()).toMatchObject({ store: 'local', state: 'open' });
      expect(await outcome(breakers[0]!.execute(ok))).toBeInstanceOf(BrokenCircuitError);
    } finally {
      await suite.redis.revive();
    }
    await waitFor(() => breakers.every((b) => b.storeUp), 'every replica to re-join');
    // Redis came back empty: the breaker starts over, closed, in a new incarnation.
    expect(breakers.map((b) => b.state)).toEqual(['closed', 'closed']);
    await tripOpen(breakers[1]!, breakers, 2);
    expect(await breakers[0]!.readShared()).toMatchObject({ state: 'open', epoch: 1 });
  });

  it('treats a slow Redis like a missing one: nothing waits longer than the store budget', async () => {
    const proxy = teardown.add(
      await LatencyProxy.start({ host: '127.0.0.1', port: suite.redis.port }),
      (p) => p.stop(),
    );
    const [breaker] = await replicas(1, {
      connection: `redis://127.0.0.1:${proxy.port}`,
      operationTimeoutMs: 100,
      trip: { mode: 'consecutive', threshold: 2 },
    });
    proxy.latencyMs = 1_000;
    await outcome(breaker!.execute(boom));
    await breaker!.flush();
    expect(breaker!.storeUp).toBe(false);
    expect(await outcome(breaker!.execute(boom))).toEqual(new Error('dependency down'));
    proxy.latencyMs = 0;
    await waitFor(() => breaker!.storeUp, 're-joining once Redis is fast again');
  });

  it('rejects every call while Redis is unavailable when configured to fail closed', async () => {
    const breakers = await replicas(1, {
      whenStoreDown: 'reject',
      trip: { mode: 'consecutive', threshold: 2 },
    });
    await suite.redis.pause();
    const protectedCall = jest.fn(ok);
    try {
      await outcome(breakers[0]!.execute(boom));
      await breakers[0]!.flush();
      expect(breakers[0]!.storeUp).toBe(false);
      expect(await outcome(breakers[0]!.execute(protectedCall))).toBeInstanceOf(BrokenCircuitError);
      expect(protectedCall).not.toHaveBeenCalled();
      expect(breakers[0]!.state).toBe('open');
    } finally {
      await suite.redis.unpause();
    }
    await waitFor(() => breakers[0]!.storeUp, 're-joining');
    expect(await breakers[0]!.execute(protectedCall)).toBe('ok');
  });
});
