import {
  createServiceApp,
  RecordStore,
  redisReadiness,
  type AppContext,
  type RedisClient,
} from '@cb-lab/shared';
import { type RedisBreakerStore } from '@cb-lab/shared-breaker';
import type { Express } from 'express';
import { circuitRouter } from './circuit-routes';
import type { PaymentsConfig } from './config';
import { startGatewayRoute } from './gateway-route';
import { FINAL_PAYMENT_STATUSES, type Payment } from './payment';
import { PaymentService } from './payment-service';
import { paymentsRouter } from './payments-routes';
import { createFallbackCounter } from './payments-metrics';
import { paymentQueue, QueueSettler } from './queue-settler';

export interface PaymentsDependencies extends AppContext<PaymentsConfig> {
  redis: RedisClient;
  /** The breakers' own Redis access, with its small time budget. */
  breakerStore: RedisBreakerStore;
  /** Registers cleanup for shutdown (the service runner's; tests close things themselves). */
  onShutdown?: (close: () => Promise<unknown>) => void;
}

/**
 * Payments: the gateway behind the shared breaker, the configured fallback,
 * and (for the `queue` strategy) the settler that drains queued payments.
 * Resolves once the breakers have joined the cluster's shared state.
 */
export async function createApp(dependencies: PaymentsDependencies): Promise<Express> {
  const { config, logger, metrics, lifecycle, redis, breakerStore, onShutdown } = dependencies;
  const routeFor = (name: string, url: string) =>
    startGatewayRoute({ name, url, config, store: breakerStore, logger, metrics });

  const primary = await routeFor('payment-gateway', config.GATEWAY_URL);
  const secondary =
    config.FALLBACK_STRATEGY === 'secondary' && config.SECONDARY_GATEWAY_URL !== undefined
      ? await routeFor('payment-gateway-secondary', config.SECONDARY_GATEWAY_URL)
      : undefined;
  const store = new RecordStore<Payment>(redis, {
    prefix: 'payments',
    finalStatuses: FINAL_PAYMENT_STATUSES,
    ttlSeconds: config.RECORD_RETENTION_HOURS * 3_600,
  });
  const queue = paymentQueue(redis);
  const service = new PaymentService({
    store,
    primary,
    strategy: config.FALLBACK_STRATEGY,
    ...(secondary ? { secondary } : {}),
    queue,
    fallbacks: createFallbackCounter(metrics.registry, config.FALLBACK_STRATEGY),
    logger,
  });

  // Every strategy needs it: a charge that timed out waits in the queue for confirmation.
  const settler = new QueueSettler({
    queue,
    store,
    routes: secondary ? [primary, secondary] : [primary],
    intervalMs: config.QUEUE_SETTLE_INTERVAL_MS,
    callTimeoutMs: config.GATEWAY_TIMEOUT_MS,
    maxAttempts: config.QUEUE_MAX_ATTEMPTS,
    logger,
  });
  settler.start();
  onShutdown?.(async () => {
    await settler.stop();
    for (const route of [primary, secondary]) {
      await route?.breaker.flush();
      route?.breaker.dispose();
    }
  });

  return createServiceApp({
    logger,
    metrics,
    ...(lifecycle ? { lifecycle } : {}),
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    readiness: [redisReadiness(redis)],
    // The circuit routes come first so "circuit" is never taken for a payment id.
    routes: (app) =>
      app.use(circuitRouter(primary.breaker, config.ADMIN_TOKEN), paymentsRouter(service)),
  });
}
