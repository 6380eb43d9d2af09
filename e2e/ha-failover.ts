import { setTimeout as sleep } from 'node:timers/promises';
import { startStack, waitFor, type Stack, type StackService } from '@cb-lab/testing';
import { underLoad } from './fault-matrix';

/** The services an HA test starts (their Redis servers come as dependencies). */
const SERVICES: readonly StackService[] = [
  'redis',
  'payment-gateway',
  'payment-gateway-secondary',
  'payments',
  'orders',
];

/**
 * The lab on highly available Redis (an override file on top of the base
 * one): the primary holding the breaker killed under steady order load, and
 * the fault matrix's guarantees checked after: every order answered, every
 * Idempotency-Key answered again with its order, every order final, one
 * charge per paid order; and every payments replica back on the promoted
 * server with the switch reported.
 */
export function failoverSuite({
  topology,
  override,
  oneShot = [],
  container,
}: {
  topology: 'sentinel' | 'cluster';
  override: string;
  oneShot?: readonly string[];
  /** The compose container of the server holding the breaker (`host:port` as replicas say). */
  container: (server: string) => string;
}): void {
  let stack: Stack | undefined;
  beforeAll(async () => {
    stack = await startStack({ overrides: [override], services: SERVICES, oneShot });
  });
  afterAll(async () => {
    await stack?.down();
  });
  const running = (): Stack => {
    if (!stack) throw new Error('the stack did not start');
    return stack;
  };

  it('runs every replica on the same Redis server', async () => {
    const views = Object.values(await running().circuits());
    expect(views).toHaveLength(3);
    for (const view of views)
      expect(view).toMatchObject({ store: 'redis', storeTopology: topology, storeSwitches: 0 });
    expect(new Set(views.map((v) => v?.storeServer)).size).toBe(1);
  });

  it('keeps every guarantee when the primary holding the breaker is killed under load', async () => {
    const stack = running();
    const before = Object.values(await stack.circuits())[0]?.storeServer ?? '';
    let switchedAfterMs = 0;
    await underLoad(stack, `${topology}-primary-killed`, async () => {
      await sleep(2_000);
      const killedAt = Date.now();
      await stack.container(container(before)).kill();
      await waitFor(
        async () =>
          Object.values(await stack.circuits()).every(
            (view) => view?.store === 'redis' && view.storeSwitches === 1,
          ),
        'every payments replica to re-join on the promoted server',
        { limitMs: 60_000, everyMs: 200 },
      );
      switchedAfterMs = Date.now() - killedAt;
      await sleep(3_000);
    });
    const after = new Set(Object.values(await stack.circuits()).map((v) => v?.storeServer));
    expect(after.size).toBe(1);
    expect(after.has(before)).toBe(false);
    process.stdout.write(
      `${topology} failover on the compose stack: ${before} → ${[...after][0] ?? '?'}; ` +
        `every payments replica back on the shared state ${switchedAfterMs} ms after the kill\n`,
    );
  });
}
