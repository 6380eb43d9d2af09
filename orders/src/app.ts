import {
  createServiceApp,
  RecordStore,
  redisReadiness,
  type AppContext,
  type RedisClient,
} from '@cb-lab/shared';
import type { Express } from 'express';
import type { OrdersConfig } from './config';
import { FINAL_ORDER_STATUSES, type Order } from './order';
import { OrderReconciler, pendingOrders } from './order-reconciler';
import { OrderService } from './order-service';
import { createOrdersMetrics } from './orders-metrics';
import { ordersRouter } from './orders-routes';
import { PaymentsClient } from './payments-client';
import { ReplicaBalancer } from './replica-balancer';

export interface OrdersDependencies extends AppContext<OrdersConfig> {
  redis: RedisClient;
  /** Registers cleanup for shutdown (the service runner's; tests close things themselves). */
  onShutdown?: (close: () => Promise<unknown>) => void;
}

/**
 * Orders: places orders and pays for them through payments, and runs the
 * reconciler that settles orders left `payment_pending` once payments has
 * charged them.
 */
export function createApp({
  config,
  logger,
  metrics,
  lifecycle,
  redis,
  onShutdown,
}: OrdersDependencies): Express {
  const balancer = new ReplicaBalancer({
    url: config.PAYMENTS_URL,
    refreshMs: config.PAYMENTS_DNS_REFRESH_MS,
    logger,
  });
  balancer.start();
  onShutdown?.(() => balancer.stop());
  const payments = new PaymentsClient(balancer, { timeoutMs: config.PAYMENTS_TIMEOUT_MS, logger });
  const store = new RecordStore<Order>(redis, {
    prefix: 'orders',
    finalStatuses: FINAL_ORDER_STATUSES,
    ttlSeconds: config.RECORD_RETENTION_HOURS * 3_600,
  });
  const pending = pendingOrders(redis);
  const ordersMetrics = createOrdersMetrics(metrics.registry);
  const service = new OrderService({
    store,
    payments,
    pending,
    metrics: ordersMetrics,
    logger,
  });

  const reconciler = new OrderReconciler({
    pending,
    store,
    payments,
    intervalMs: config.PENDING_RECONCILE_INTERVAL_MS,
    callTimeoutMs: config.PAYMENTS_TIMEOUT_MS,
    metrics: ordersMetrics,
    logger,
  });
  reconciler.start();
  onShutdown?.(() => reconciler.stop());

  return createServiceApp({
    logger,
    metrics,
    lifecycle,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    readiness: [redisReadiness(redis)],
    routes: (app) => app.use(ordersRouter(service)),
  });
}
