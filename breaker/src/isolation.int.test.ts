import { IsolatedCircuitError } from 'cockatiel';
import { waitFor } from '@cb-lab/testing';
import { ok, outcome, useBreakerSuite } from './breaker.fixture';
import type { BreakerTransition } from './shared-circuit-breaker';

jest.setTimeout(60_000);

const { replicas, watchChannel } = useBreakerSuite();

describe('an isolation with an end and a reason', () => {
  it('holds every replica isolated, shows why and until when, then closes them all by itself', async () => {
    const breakers = await replicas(3);
    const [operator, other] = breakers;
    const messages = await watchChannel(operator!.keys.channel);
    const transitions: BreakerTransition[] = [];
    other!.onTransition((t) => transitions.push(t));

    await operator!.isolate('gateway deploy', 400);
    await waitFor(() => breakers.every((b) => b.state === 'isolated'), 'every replica isolated');
    const shared = await other!.readShared();
    expect(shared.isolatedUntil).toBeGreaterThan(0);
    for (const b of breakers) {
      expect(b.snapshot().isolation).toEqual({
        until: new Date(shared.isolatedUntil).toISOString(),
        reason: 'gateway deploy',
      });
    }
    expect(await outcome(other!.execute(ok))).toBeInstanceOf(IsolatedCircuitError);

    // No call and no operator: the replicas' timers ask Redis, which decides on its own clock.
    await waitFor(() => breakers.every((b) => b.state === 'closed'), 'every replica closed');
    expect(transitions.at(-1)).toMatchObject({
      from: 'isolated',
      to: 'closed',
      reason: 'isolation expired',
    });
    const ended = messages.filter((m) => m.reason === 'isolation expired');
    expect(ended).toHaveLength(1);
    // Not before its time on Redis's clock.
    expect(ended[0]!.now).toBeGreaterThanOrEqual(shared.isolatedUntil);
    expect(await other!.execute(ok)).toBe('ok');
    expect(other!.snapshot().isolation).toBeNull();
  });

  it('stays isolated without an end until a reset', async () => {
    const [breaker] = await replicas(1);
    await breaker!.isolate('until further notice');
    expect(breaker!.snapshot().isolation).toEqual({ until: null, reason: 'until further notice' });
    await breaker!.reset();
    expect(breaker!.state).toBe('closed');
  });

  it('refuses a duration that is not a whole number of milliseconds', async () => {
    const [breaker] = await replicas(1);
    await expect(breaker!.isolate('x', 0)).rejects.toThrow(RangeError);
    await expect(breaker!.isolate('x', 1.5)).rejects.toThrow(RangeError);
    expect(breaker!.state).toBe('closed');
  });
});
