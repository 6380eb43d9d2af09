import { Counter, type Registry } from 'prom-client';
import type { OrderStatus } from './order';

export interface OrdersMetrics {
  ordersTotal: Counter<'status'>;
}

const REPORTED_STATUSES = [
  'paid',
  'payment_pending',
  'payment_failed',
] as const satisfies readonly OrderStatus[];

export function createOrdersMetrics(registry: Registry): OrdersMetrics {
  const ordersTotal = new Counter({
    name: 'orders_total',
    help: 'Orders created, by the status they ended the request in.',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  for (const status of REPORTED_STATUSES) ordersTotal.labels(status).inc(0);
  return { ordersTotal };
}
