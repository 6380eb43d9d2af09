import { runService } from '@cb-lab/shared';
import { createApp } from './app';
import { gatewayConfigSchema } from './config';

void runService({
  service: 'payment-gateway',
  configSchema: gatewayConfigSchema,
  build: createApp,
});
