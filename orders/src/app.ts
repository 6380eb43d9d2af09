import { createServiceApp, RecordStore, redisReadiness, type AppContext } from '@cb-lab/shared';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import type { OrdersConfig } from './config';
import { FINAL_ORDER_STATUSES, ORDER_TTL_SECONDS, type Order } from './order';
import { OrderService } from './order-service';
import { createOrdersMetrics } from './orders-metrics';
import { ordersRouter } from './orders-routes';
import { PaymentsClient } from './payments-client';
import { ReplicaBalancer } from './replica-balancer';

export interface OrdersDependencies extends AppContext<OrdersConfig> {
  redis: Redis;
}

export function createApp({
  config,
  logger,
  metrics,
  lifecycle,
  redis,
}: OrdersDependencies): Express {
  const balancer = new ReplicaBalancer({
    url: config.PAYMENTS_URL,
    refreshMs: config.PAYMENTS_DNS_REFRESH_MS,
    logger,
  });
  const payments = new PaymentsClient(balancer, { timeoutMs: config.PAYMENTS_TIMEOUT_MS, logger });
  const store = new RecordStore<Order>(redis, {
    prefix: 'orders',
    finalStatuses: FINAL_ORDER_STATUSES,
    ttlSeconds: ORDER_TTL_SECONDS,
  });
  const service = new OrderService(store, payments, createOrdersMetrics(metrics.registry), logger);
  return createServiceApp({
    logger,
    metrics,
    lifecycle,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    readiness: [redisReadiness(redis)],
    routes: (app) => app.use(ordersRouter(service)),
  });
}
