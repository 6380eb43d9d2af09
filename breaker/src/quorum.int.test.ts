import { BrokenCircuitError } from 'cockatiel';
import { waitFor } from '@cb-lab/testing';
import { boom, ok, outcome, sleep, useBreakerSuite } from './breaker.fixture';
import type { StateMessage } from './breaker-state';
import type { BreakerTransition } from './shared-circuit-breaker';

jest.setTimeout(60_000);

const suite = useBreakerSuite();
const { replicas, watchChannel } = suite;

/** Calls `breaker` with a failing function `times` times in a row, and sends what it counted. */
async function failOn(
  breaker: Awaited<ReturnType<typeof replicas>>[number],
  times: number,
): Promise<number> {
  let reached = 0;
  const failing = () => {
    reached += 1;
    return boom();
  };
  for (let i = 0; i < times; i += 1) await outcome(breaker.execute(failing));
  await breaker.flush();
  return reached;
}

/**
 * Waits until every replica's view of the shared state is open and the watcher heard it, then
 * checks that it opened once. A replica's own `state` is no sign of it: with a quorum, its guard
 * opens on its own, before the shared state does and before the opening is published.
 */
async function waitForSharedOpening(
  breakers: Awaited<ReturnType<typeof replicas>>,
  messages: StateMessage[],
): Promise<void> {
  const opening = (m: StateMessage) => m.from === 'closed' && m.state.state === 'open';
  await waitFor(
    () => breakers.every((b) => b.snapshot().localView.state === 'open'),
    'every replica to hear the shared opening',
  );
  await waitFor(() => messages.some(opening), 'the watcher to hear the opening');
  expect(await breakers[0]!.readShared()).toMatchObject({ state: 'open', openCount: 1 });
  expect(messages.filter(opening)).toHaveLength(1);
}

describe('a shared breaker with a quorum of 2 replicas', () => {
  it('does not open the others on one replica’s failures: that replica’s own breaker stops it', async () => {
    const [poisoned, healthy1, healthy2] = await replicas(3, { quorum: 2 });
    const transitions: BreakerTransition[] = [];
    poisoned!.onTransition((t) => transitions.push(t));

    // The threshold is 5: its own breaker opens after 5, and the 15 calls after are not made.
    expect(await failOn(poisoned!, 20)).toBe(5);
    expect(poisoned!.state).toBe('open');
    expect(transitions).toEqual([
      { from: 'closed', to: 'open', reason: 'failure threshold reached', scope: 'local' },
    ]);
    expect(await outcome(poisoned!.execute(ok))).toBeInstanceOf(BrokenCircuitError);
    expect(poisoned!.retryAfterSeconds()).toBeGreaterThan(1);
    // What it shows is its own breaker's: open once, and when it will probe.
    const shown = poisoned!.snapshot();
    expect(shown).toMatchObject({ state: 'open', failures: 5, openCount: 1 });
    expect(Date.parse(shown.halfOpenAt ?? '') - Date.parse(shown.openedAt ?? '')).toBe(
      shown.openMs,
    );

    // Redis counted the 5 (the threshold) but holds the breaker closed: one replica is no quorum.
    const shared = await healthy1!.readShared();
    expect(shared).toMatchObject({ state: 'closed', failures: 5 });
    await waitFor(() => healthy1!.snapshot().localView.failures === 5, 'the count to reach all');
    for (const healthy of [healthy1!, healthy2!]) {
      expect(healthy.state).toBe('closed');
      expect(await healthy.execute(ok)).toBe('ok');
    }
  });

  it('opens for every replica once a second replica fails too', async () => {
    const breakers = await replicas(3, { quorum: 2 });
    const [first, second] = breakers;
    const messages = await watchChannel(first!.keys.channel);
    await failOn(first!, 5);
    expect((await first!.readShared()).state).toBe('closed');

    // One stray failure elsewhere is no vote: that replica's own breaker did not trip.
    expect(await failOn(second!, 1)).toBe(1);
    expect((await first!.readShared()).state).toBe('closed');
    // Its own path broken too: its own breaker trips, and that is the quorum.
    expect(await failOn(second!, 4)).toBe(4);
    await waitForSharedOpening(breakers, messages);
  });

  it('opens exactly once when every replica fails at the same time', async () => {
    const breakers = await replicas(4, { quorum: 2 });
    const messages = await watchChannel(breakers[0]!.keys.channel);
    const failing = () => sleep(1).then(boom);
    await Promise.all(
      breakers.flatMap((b) => Array.from({ length: 8 }, () => outcome(b.execute(failing)))),
    );
    await Promise.all(breakers.map((b) => b.flush()));
    await waitForSharedOpening(breakers, messages);
  });

  it('does not count a replica whose last failure is older than the quorum window', async () => {
    const windowMs = 300;
    const [first, second, third] = await replicas(3, { quorum: 2, quorumWindowMs: windowMs });
    await failOn(first!, 5);
    // Past the window on any clock: sleeping longer only makes the first vote older.
    await sleep(windowMs + 100);
    expect(await failOn(second!, 5)).toBe(5);
    expect(second!.state).toBe('open');
    expect((await second!.readShared()).state).toBe('closed');
    expect(third!.state).toBe('closed');
  });

  it('lets a replica’s own breaker probe and close on its own while the cluster stays closed', async () => {
    const [poisoned, healthy] = await replicas(2, { quorum: 2, openMs: 200 });
    await failOn(poisoned!, 5);
    expect(poisoned!.state).toBe('open');
    // Past the open period on any clock: sleeping longer only makes it further past.
    await sleep(300);
    // Its path is mended: the probe succeeds and it closes, and the cluster never opened.
    expect(await poisoned!.execute(ok)).toBe('ok');
    expect(poisoned!.state).toBe('closed');
    expect(healthy!.state).toBe('closed');
    expect((await healthy!.readShared()).openCount).toBe(0);
  });

  it('in rate mode, opens on two replicas’ failures and not on one’s', async () => {
    const trip = { mode: 'rate' as const, threshold: 0.5, minCalls: 4, windowMs: 2_000 };
    const [alone, quiet] = await replicas(2, { quorum: 2, trip, flushIntervalMs: 20 });
    await failOn(alone!, 8);
    // Wait until Redis has decided a window holding those failures.
    // Redis decides a window once its last bucket has settled: wait until it holds the failures.
    await waitFor(
      async () => (await quiet!.readShared()).failures === 8,
      'a window with the failures to be decided',
    );
    expect((await quiet!.readShared()).state).toBe('closed');
    expect(quiet!.state).toBe('closed');

    const pair = await replicas(2, { quorum: 2, trip, flushIntervalMs: 20 });
    await Promise.all(pair.map((b) => failOn(b, 4)));
    await waitFor(
      async () => (await pair[0]!.readShared()).state === 'open',
      'Redis to open the breaker',
    );
    await waitFor(() => pair.every((b) => b.state === 'open'), 'both replicas to see open');
  });
});
