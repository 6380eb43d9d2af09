import { setTimeout as sleep } from 'node:timers/promises';
import { startStack, waitFor, type Stack } from '@cb-lab/testing';
import { underLoad } from './fault-matrix';

/*
 * The lab on Redis Sentinel (docker-compose.sentinel.yml on top of the base
 * file): the primary killed under steady order load, the sentinels promoting
 * a replica, and the fault matrix's guarantees checked after: every order
 * answered, every Idempotency-Key answered again with its order, every order
 * final, one charge per paid order. One fault, to keep the suite's time.
 */

jest.setTimeout(15 * 60_000);

let stack: Stack | undefined;

beforeAll(async () => {
  stack = await startStack({
    overrides: ['docker-compose.sentinel.yml'],
    services: ['redis', 'payment-gateway', 'payment-gateway-secondary', 'payments', 'orders'],
  });
});
afterAll(async () => {
  await stack?.down();
});

const running = (): Stack => {
  if (!stack) throw new Error('the stack did not start');
  return stack;
};

describe('the lab on Redis Sentinel', () => {
  it('runs every replica on the primary the sentinels name', async () => {
    const views = Object.values(await running().circuits());
    expect(views).toHaveLength(3);
    for (const view of views)
      expect(view).toMatchObject({ store: 'redis', storeTopology: 'sentinel', storeSwitches: 0 });
    expect(new Set(views.map((v) => v?.storeServer)).size).toBe(1);
  });

  it('keeps every guarantee when the primary is killed under load, and reports the switch', async () => {
    const stack = running();
    const before = Object.values(await stack.circuits())[0]?.storeServer;
    let switchedAfterMs = 0;
    await underLoad(stack, 'sentinel-primary-killed', async () => {
      await sleep(2_000);
      const killedAt = Date.now();
      await stack.container('redis-1').kill();
      await waitFor(
        async () =>
          Object.values(await stack.circuits()).every(
            (view) => view?.store === 'redis' && view.storeSwitches === 1,
          ),
        'every payments replica to re-join on the promoted replica',
        { limitMs: 60_000, everyMs: 200 },
      );
      switchedAfterMs = Date.now() - killedAt;
      await sleep(3_000);
    });
    const views = Object.values(await stack.circuits());
    const after = new Set(views.map((v) => v?.storeServer));
    expect(after.size).toBe(1);
    expect(after.has(before ?? null)).toBe(false);
    process.stdout.write(
      `sentinel failover on the compose stack: ${before ?? '?'} → ${[...after][0] ?? '?'}; ` +
        `every payments replica back on the shared state ${switchedAfterMs} ms after the kill\n`,
    );
  });
});
