import { createServiceApp, requireAdminToken, type AppContext } from '@cb-lab/shared';
import type { Express } from 'express';
import { adminRouter } from './admin-routes';
import { ChargeProcessor } from './charges';
import { chargesRouter } from './charges-routes';
import type { GatewayConfig } from './config';
import { injectFaults } from './fault-middleware';
import { FaultInjector } from './faults';
import { createGatewayMetrics } from './gateway-metrics';
import { ScenarioRunner } from './scenario-runner';

export interface GatewayDependencies extends AppContext<GatewayConfig> {
  /** Registers cleanup for shutdown (the service runner's; tests need none: timers are unref'd). */
  onShutdown?: (close: () => Promise<unknown>) => void;
}

/**
 * The flaky third party: charges, and a token-protected admin API to make them
 * fail, by hand or on a timed scenario.
 */
export function createApp({
  config,
  logger,
  metrics,
  lifecycle,
  onShutdown,
}: GatewayDependencies): Express {
  const processor = new ChargeProcessor({
    cardLimitMinor: config.CARD_LIMIT_MINOR,
    cacheSize: config.IDEMPOTENCY_CACHE_SIZE,
  });
  const injector = new FaultInjector();
  const gatewayMetrics = createGatewayMetrics(metrics.registry, () => injector.reachedCallers());
  // Subscribed here rather than in the admin routes, so a change from anywhere is seen.
  injector.onChange((faults, previous) => {
    logger.info('gateway faults changed', { previous, faults });
    gatewayMetrics.showFaults(faults);
  });
  const scenarios = new ScenarioRunner({ injector, logger, metrics: gatewayMetrics });
  onShutdown?.(() => {
    scenarios.close();
    return Promise.resolve();
  });

  return createServiceApp({
    logger,
    metrics,
    lifecycle,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    routes: (app) => {
      app.use(
        '/admin',
        requireAdminToken(config.ADMIN_TOKEN),
        adminRouter(injector, scenarios, processor),
      );
      // Faults sit on the charge routes only, so probes, scrapes and the admin API that
      // heals the gateway keep working whatever is injected. Mounted per route (not with
      // app.use) so faulted answers still carry their route template in the HTTP metrics.
      app.post(
        '/charges',
        injectFaults(injector, (outcome) => {
          gatewayMetrics.chargesTotal.labels(outcome).inc();
        }),
      );
      // A lookup suffers the same faults but is not a charge, so it is not counted as one.
      app.get('/charges/:id', injectFaults(injector));
      app.use(chargesRouter(processor, gatewayMetrics));
    },
  });
}
