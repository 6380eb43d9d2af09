import { loadConfig, redisConnectionOf, type RunningServer } from '@cb-lab/shared';
import { redisClientFor } from '@cb-lab/shared-breaker';
import { serve, testContext, type Teardown } from '@cb-lab/testing';
import { createApp } from './app';
import { ordersConfigSchema, type OrdersConfig } from './config';

export interface RunningOrders {
  server: RunningServer;
  url: string;
  config: OrdersConfig;
}

/**
 * Starts an orders instance in process against a real Redis, the way
 * main.ts wires it (reconciler included); everything it opens is stopped by
 * `teardown`.
 */
export async function startOrders(
  teardown: Teardown,
  env: Record<string, string>,
): Promise<RunningOrders> {
  const config = loadConfig(ordersConfigSchema, { INSTANCE: 'orders-test', ...env });
  const connection = redisConnectionOf(config);
  const redis = teardown.add(redisClientFor(connection, {}), (r) => r.quit());
  const cleanups: (() => Promise<unknown>)[] = [];
  teardown.add(cleanups, async (steps) => {
    for (const step of steps) await step();
  });
  const app = createApp({
    ...testContext('orders', config),
    redis,
    onShutdown: (close) => cleanups.push(close),
  });
  const server = teardown.add(await serve(app), (s) => s.stop());
  return { server, url: server.url, config };
}
