import { randomUUID } from 'node:crypto';
import {
  idempotencyKeyReused,
  type DurableWorkQueue,
  type Logger,
  type RecordStore,
} from '@cb-lab/shared';
import { sameOrderRequest, type Order, type OrderRequest } from './order';
import type { OrdersMetrics } from './orders-metrics';
import { settlementOf } from './payment-answer';
import type { PaymentsClient } from './payments-client';

export interface OrderOutcome {
  order: Order;
  /** True when the Idempotency-Key had already created this order. */
  replayed: boolean;
}

export interface OrderServiceOptions {
  store: RecordStore<Order>;
  payments: PaymentsClient;
  /** Every order not final yet: the reconciler finishes those whose request could not. */
  pending: DurableWorkQueue;
  metrics: OrdersMetrics;
  logger: Logger;
}

export class OrderService {
  constructor(private readonly options: OrderServiceOptions) {}

  /**
   * Persists the order first (so it is never lost once accepted), then pays
   * for it and records the final status.
   */
  async place(request: OrderRequest, idempotencyKey?: string): Promise<OrderOutcome> {
    const { store, payments, pending, metrics, logger } = this.options;
    const now = new Date().toISOString();
    const { record, created } = await store.create(
      { id: randomUUID(), ...request, status: 'processing', createdAt: now, updatedAt: now },
      idempotencyKey,
    );
    if (!created) {
      if (!sameOrderRequest(record, request))
        throw idempotencyKeyReused(
          idempotencyKey ?? '',
          `order ${record.id}`,
          'customer, amount or currency',
        );
      // Adding again is harmless, and re-registers an order whose first request died before it could.
      if (record.status === 'payment_pending' || record.status === 'processing')
        await pending.add(record.id);
      return { order: record, replayed: true };
    }

    // Registered before payments is called: if this instance dies before the order is final,
    // the reconciler of any instance finishes it.
    await pending.add(record.id);
    const answer = await payments.pay(record);
    const order = await store.settle({
      ...record,
      ...settlementOf(answer),
      updatedAt: new Date().toISOString(),
    });
    if (order.status !== 'payment_pending') await pending.remove(order.id);
    metrics.ordersTotal.labels(order.status).inc();
    logger.info('order placed', {
      orderId: order.id,
      status: order.status,
      ...(answer.outcome === 'unknown' ? { paymentOutcome: 'unknown', reason: answer.reason } : {}),
      ...(order.failureReason === undefined ? {} : { failureReason: order.failureReason }),
    });
    return { order, replayed: false };
  }

  find(id: string): Promise<Order | undefined> {
    return this.options.store.find(id);
  }
}
