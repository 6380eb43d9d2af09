import { Counter, type Registry } from 'prom-client';
import type { OrderStatus } from './order';

export interface OrdersMetrics {
  ordersTotal: Counter<'status'>;
  /** Pending orders settled later by the reconciler, by the final status they got. */
  ordersReconciled: Counter<'status'>;
}

const REPORTED_STATUSES = [
  'paid',
  'payment_pending',
  'payment_failed',
] as const satisfies readonly OrderStatus[];

const RECONCILED_STATUSES = ['paid', 'payment_failed'] as const satisfies readonly OrderStatus[];

export function createOrdersMetrics(registry: Registry): OrdersMetrics {
  const ordersTotal = new Counter({
    name: 'orders_total',
    help: 'Orders created, by the status they ended the request in.',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  for (const status of REPORTED_STATUSES) ordersTotal.labels(status).inc(0);
  // A separate counter, so orders_total keeps counting each order once, by its answer to the client.
  const ordersReconciled = new Counter({
    name: 'orders_reconciled_total',
    help: 'Orders that ended a request payment_pending and were settled later, by final status.',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  for (const status of RECONCILED_STATUSES) ordersReconciled.labels(status).inc(0);
  return { ordersTotal, ordersReconciled };
}
