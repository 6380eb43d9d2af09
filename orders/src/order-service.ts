import { randomUUID } from 'node:crypto';
import { HttpError, type Logger, type RecordStore } from '@cb-lab/shared';
import { sameOrderRequest, type Order, type OrderRequest, type OrderStatus } from './order';
import type { OrdersMetrics } from './orders-metrics';
import type { PaymentAnswer, PaymentsClient } from './payments-client';

export interface OrderOutcome {
  order: Order;
  /** True when the Idempotency-Key had already created this order. */
  replayed: boolean;
}

const STATUS_BY_OUTCOME: Record<PaymentAnswer['outcome'], OrderStatus> = {
  approved: 'paid',
  declined: 'payment_failed',
  pending: 'payment_pending',
  failed: 'payment_failed',
};

export class OrderService {
  constructor(
    private readonly store: RecordStore<Order>,
    private readonly payments: PaymentsClient,
    private readonly metrics: OrdersMetrics,
    private readonly logger: Logger,
  ) {}

  /**
   * Persists the order first (so it is never lost once accepted), then pays
   * for it and records the final status.
   */
  async place(request: OrderRequest, idempotencyKey?: string): Promise<OrderOutcome> {
    const now = new Date().toISOString();
    const { record, created } = await this.store.create(
      { id: randomUUID(), ...request, status: 'processing', createdAt: now, updatedAt: now },
      idempotencyKey,
    );
    if (!created) {
      if (!sameOrderRequest(record, request)) {
        throw new HttpError(
          422,
          'idempotency_key_reused',
          `Idempotency-Key ${idempotencyKey ?? ''} belongs to order ${record.id}, which has another customer, amount or currency`,
        );
      }
      return { order: record, replayed: true };
    }

    const answer = await this.payments.pay(record);
    const order = await this.store.settle({
      ...record,
      status: STATUS_BY_OUTCOME[answer.outcome],
      ...('paymentId' in answer ? { paymentId: answer.paymentId } : {}),
      ...('reason' in answer ? { failureReason: answer.reason } : {}),
      updatedAt: new Date().toISOString(),
    });
    this.metrics.ordersTotal.labels(order.status).inc();
    this.logger.info('order placed', {
      orderId: order.id,
      status: order.status,
      ...(order.failureReason === undefined ? {} : { failureReason: order.failureReason }),
    });
    return { order, replayed: false };
  }

  find(id: string): Promise<Order | undefined> {
    return this.store.find(id);
  }
}
