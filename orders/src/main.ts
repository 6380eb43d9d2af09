import { connectRedis, runService } from '@cb-lab/shared';
import { createApp } from './app';
import { ordersConfigSchema } from './config';

void runService({
  service: 'orders',
  configSchema: ordersConfigSchema,
  build: (context) => createApp({ ...context, redis: connectRedis(context) }),
});
