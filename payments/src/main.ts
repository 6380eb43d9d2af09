import { connectRedis, runService } from '@cb-lab/shared';
import { createApp } from './app';
import { paymentsConfigSchema } from './config';

void runService({
  service: 'payments',
  configSchema: paymentsConfigSchema,
  build: (context) => createApp({ ...context, redis: connectRedis(context) }),
});
