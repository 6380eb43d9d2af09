import { BrokenCircuitError } from 'cockatiel';
import { waitFor } from '@cb-lab/testing';
import { ok, outcome, sleep, useBreakerSuite } from './breaker.fixture';

jest.setTimeout(60_000);

const { replicas } = useBreakerSuite();

/** A dependency that stops answering: every call hangs until `heal()` answers them all. */
function hangingDependency() {
  const waiting: (() => void)[] = [];
  let reached = 0;
  return {
    call: () =>
      new Promise<string>((resolve) => {
        reached += 1;
        waiting.push(() => {
          resolve('late');
        });
      }),
    heal: () => {
      for (const answer of waiting.splice(0)) answer();
    },
    get reached() {
      return reached;
    },
  };
}

const settings = { trip: { mode: 'consecutive', threshold: 3 }, slowCallMs: 100 } as const;

describe('a hang caught in flight', () => {
  it('without it, calls that hang count only when they end, so the breaker stays closed meanwhile', async () => {
    const [caller, other] = await replicas(2, settings);
    const hang = hangingDependency();
    const calls = Array.from({ length: 3 }, () => caller!.execute(hang.call));
    // Well past slowCallMs: nothing has ended, so nothing has counted.
    await sleep(400);
    await caller!.flush();
    expect((await other!.readShared()).failures).toBe(0);
    expect(caller!.state).toBe('closed');

    hang.heal();
    expect(await Promise.all(calls)).toEqual(['late', 'late', 'late']);
    await caller!.flush();
    await waitFor(() => other!.state === 'open', 'the slow calls to open it once they ended');
  });

  it('with slowCallsInFlight, opens every replica while the hung calls are still running', async () => {
    const breakers = await replicas(2, { ...settings, slowCallsInFlight: true });
    const [caller, other] = breakers;
    const hang = hangingDependency();
    const calls = Array.from({ length: 3 }, () => caller!.execute(hang.call));

    await waitFor(() => breakers.every((b) => b.state === 'open'), 'every replica to see open');
    // Nothing was abandoned: the three calls are still waiting for their answer.
    expect(hang.reached).toBe(3);
    expect(await outcome(other!.execute(ok))).toBeInstanceOf(BrokenCircuitError);
    expect(await outcome(caller!.execute(hang.call))).toBeInstanceOf(BrokenCircuitError);
    expect(hang.reached).toBe(3);

    // Their late ends count nothing more: one opening, three failures.
    hang.heal();
    expect(await Promise.all(calls)).toEqual(['late', 'late', 'late']);
    await caller!.flush();
    expect(await other!.readShared()).toMatchObject({ state: 'open', openCount: 1, failures: 3 });
  });

  it('with slowCallsInFlight, counts nothing against a call that ends in time', async () => {
    const [caller] = await replicas(1, { ...settings, slowCallsInFlight: true });
    for (let i = 0; i < 10; i += 1) expect(await caller!.execute(ok)).toBe('ok');
    await caller!.flush();
    expect(await caller!.readShared()).toMatchObject({ state: 'closed', failures: 0 });
  });
});
