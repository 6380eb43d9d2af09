import { connectRedis, redisConnectionOf, runService } from '@cb-lab/shared';
import { RedisBreakerStore } from '@cb-lab/shared-breaker';
import { createApp } from './app';
import { paymentsConfigSchema } from './config';

void runService({
  service: 'payments',
  configSchema: paymentsConfigSchema,
  build: (context) => {
    const breakerStore = new RedisBreakerStore(redisConnectionOf(context.config), {
      operationTimeoutMs: context.config.BREAKER_STORE_TIMEOUT_MS,
    });
    context.onShutdown(() => breakerStore.close());
    return createApp({ ...context, redis: connectRedis(context), breakerStore });
  },
});
