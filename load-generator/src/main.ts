import { runService } from '@cb-lab/shared';
import { createApp } from './app';
import { loadGeneratorConfigSchema } from './config';

void runService({
  service: 'load-generator',
  configSchema: loadGeneratorConfigSchema,
  build: (context) => {
    const { app, generator } = createApp(context);
    generator.start();
    context.logger.info('sending orders', {
      ratePerSecond: generator.ratePerSecond,
      ordersUrl: context.config.ORDERS_URL,
    });
    context.onShutdown(async () => {
      generator.stop();
      await Promise.resolve();
    });
    return app;
  },
});
