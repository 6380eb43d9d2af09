import { loadConfig, redisConnectionOf, type RunningServer } from '@cb-lab/shared';
import { RedisBreakerStore, redisClientFor } from '@cb-lab/shared-breaker';
import { serve, testContext, type CapturedLogger, type Teardown } from '@cb-lab/testing';
import { createApp } from './app';
import { paymentsConfigSchema, type PaymentsConfig } from './config';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface RunningPayments {
  server: RunningServer;
  url: string;
  config: PaymentsConfig;
  /** What the replica logged. */
  log: CapturedLogger;
}

/**
 * Starts a payments replica in process against a real Redis, the way
 * main.ts wires it; everything it opens is stopped by `teardown`.
 */
export async function startPayments(
  teardown: Teardown,
  env: Record<string, string>,
  { host = '127.0.0.1', port = 0 }: { host?: string; port?: number } = {},
): Promise<RunningPayments> {
  const config = loadConfig(paymentsConfigSchema, {
    INSTANCE: 'payments-test',
    ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    ...env,
  });
  const connection = redisConnectionOf(config);
  const redis = teardown.add(redisClientFor(connection, {}), (r) => r.quit());
  const breakerStore = teardown.add(
    new RedisBreakerStore(connection, {
      operationTimeoutMs: config.BREAKER_STORE_TIMEOUT_MS,
    }),
    (s) => s.close(),
  );
  const cleanups: (() => Promise<unknown>)[] = [];
  teardown.add(cleanups, async (steps) => {
    for (const step of steps) await step();
  });
  const context = testContext('payments', config);
  const app = await createApp({
    ...context,
    redis,
    breakerStore,
    onShutdown: (close) => cleanups.push(close),
  });
  const server = teardown.add(await serve(app, { host, port }), (s) => s.stop());
  return { server, url: server.url, config, log: context.log };
}
