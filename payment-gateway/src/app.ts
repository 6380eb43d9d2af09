import { createServiceApp, type AppContext } from '@cb-lab/shared';
import type { Express } from 'express';
import { ChargeProcessor } from './charges';
import { chargesRouter } from './charges-routes';
import type { GatewayConfig } from './config';
import { createGatewayMetrics } from './gateway-metrics';

/** The flaky third party: charges, and (soon) an admin API to make it flaky. */
export function createApp({
  config,
  logger,
  metrics,
  lifecycle,
}: AppContext<GatewayConfig>): Express {
  const processor = new ChargeProcessor({
    cardLimitMinor: config.CARD_LIMIT_MINOR,
    cacheSize: config.IDEMPOTENCY_CACHE_SIZE,
  });
  const gatewayMetrics = createGatewayMetrics(metrics.registry);
  return createServiceApp({
    logger,
    metrics,
    lifecycle,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    routes: (app) => app.use(chargesRouter(processor, gatewayMetrics)),
  });
}
