import { createServiceApp, RecordStore, redisReadiness, type AppContext } from '@cb-lab/shared';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import type { PaymentsConfig } from './config';
import { LocalGatewayBreaker, type GatewayBreaker } from './gateway-breaker';
import { GatewayClient } from './gateway-client';
import { PaymentService } from './payment-service';
import { FINAL_PAYMENT_STATUSES, PAYMENT_TTL_SECONDS, type Payment } from './payment';
import { paymentsRouter } from './payments-routes';

export interface PaymentsDependencies extends AppContext<PaymentsConfig> {
  redis: Redis;
  /** Defaults to a breaker built from the config; tests may pass their own. */
  breaker?: GatewayBreaker;
}

export function createApp({
  config,
  logger,
  metrics,
  lifecycle,
  redis,
  breaker,
}: PaymentsDependencies): Express {
  const gatewayBreaker =
    breaker ??
    new LocalGatewayBreaker({
      name: 'payment-gateway',
      replica: config.INSTANCE,
      failureThreshold: config.BREAKER_FAILURE_THRESHOLD,
      openMs: config.BREAKER_OPEN_MS,
      callTimeoutMs: config.GATEWAY_TIMEOUT_MS,
    });
  const gateway = new GatewayClient({
    baseURL: config.GATEWAY_URL,
    timeoutMs: config.GATEWAY_TIMEOUT_MS,
    logger,
  });
  const store = new RecordStore<Payment>(redis, {
    prefix: 'payments',
    finalStatuses: FINAL_PAYMENT_STATUSES,
    ttlSeconds: PAYMENT_TTL_SECONDS,
  });
  const service = new PaymentService(store, gateway, gatewayBreaker, logger);
  return createServiceApp({
    logger,
    metrics,
    lifecycle,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    readiness: [redisReadiness(redis)],
    routes: (app) => app.use(paymentsRouter(service, gatewayBreaker)),
  });
}
