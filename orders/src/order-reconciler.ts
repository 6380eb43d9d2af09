import { isDeepStrictEqual } from 'node:util';
import {
  DurableWorkQueue,
  newRequestId,
  QueueWorker,
  runWithRequestId,
  workQueueKeys,
  type Logger,
  type RecordStore,
  type RedisClient,
  type WorkResult,
} from '@cb-lab/shared';
import type { Order } from './order';
import type { OrdersMetrics } from './orders-metrics';
import { settlementOf, type PaymentAnswer } from './payment-answer';
import { isPaymentsUnavailable, type PaymentsClient } from './payments-client';

/** Ids of orders whose payment is still to settle, oldest first, and the reconcilers' lock. */
export const pendingOrders = (redis: RedisClient): DurableWorkQueue =>
  new DurableWorkQueue(redis, workQueueKeys('orders', 'pending', 'reconciler'));

/** How many pending orders one round takes on. */
const BATCH = 50;

export interface OrderReconcilerOptions {
  pending: DurableWorkQueue;
  store: RecordStore<Order>;
  payments: Pick<PaymentsClient, 'find' | 'pay'>;
  intervalMs: number;
  /**
   * Budget of one call to payments; the lock is sized so a call never outlives it, and an
   * order still `processing` after two of them was abandoned by a request that died.
   */
  callTimeoutMs: number;
  /** Unexpected failures an order may have before the reconciler stops asking about it. */
  maxAttempts?: number;
  metrics: OrdersMetrics;
  logger: Logger;
}

/**
 * Settles orders that ended their request `payment_pending`: payments queued
 * the payment (the gateway's breaker was open, or its charge timed out) and
 * the order waits for it to be charged; or orders never learnt what payments
 * did (a timeout, a broken connection) and asks again with the same
 * Idempotency-Key, which cannot charge twice. Every orders instance runs one;
 * the pending set's lock lets one of them work at a time. Orders are settled
 * through the store's script, which never overwrites a final status, so even
 * two rounds overlapping after a lock expiry cannot change an order twice. An
 * order whose reconciling keeps failing unexpectedly is given up after
 * `maxAttempts`: it stays `payment_pending` (what became of its payment is not
 * known) and is logged; a retry of its request with the same Idempotency-Key
 * puts it back in line.
 */
export class OrderReconciler {
  readonly #worker: QueueWorker;

  constructor(private readonly options: OrderReconcilerOptions) {
    this.#worker = new QueueWorker({
      queue: options.pending,
      name: 'pending order',
      idField: 'orderId',
      work: (id) => this.#reconcileOrder(id),
      giveUp: async () => {
        // It stays payment_pending, which is the truth: nobody knows what its payment became.
      },
      intervalMs: options.intervalMs,
      itemTimeoutMs: options.callTimeoutMs,
      batch: BATCH,
      ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
      // A request id per round ties this instance's logs to the payments calls it made.
      aroundRound: (round) => runWithRequestId(newRequestId(), round),
      logger: options.logger,
    });
  }

  start(): void {
    this.#worker.start();
  }

  /** Stops the loop and waits for a round in progress to finish. */
  stop(): Promise<void> {
    return this.#worker.stop();
  }

  /** Runs one round now; resolves with how many orders it finished. */
  reconcileOnce(): Promise<number> {
    return this.#worker.runOnce();
  }

  async #reconcileOrder(id: string): Promise<WorkResult> {
    const { store, payments, logger } = this.options;
    const order = await store.find(id);
    if (order?.status === 'processing') {
      // Its request is probably still waiting for payments; only an abandoned one is ours.
      const abandoned = Date.now() - Date.parse(order.updatedAt) > 2 * this.options.callTimeoutMs;
      return abandoned ? this.#askAgain(order) : 'not yet';
    }
    // Expired, or already settled: nothing left to reconcile.
    if (order?.status !== 'payment_pending') return 'done';
    if (order.paymentId === undefined) return this.#askAgain(order);
    let answer: PaymentAnswer | undefined;
    try {
      answer = await payments.find(order.paymentId);
    } catch (error) {
      if (!isPaymentsUnavailable(error)) throw error;
      logger.warn('payments could not be asked about pending orders; trying next round', {
        orderId: id,
        error,
      });
      return 'unreachable';
    }
    if (answer === undefined) {
      logger.debug('payment of a pending order is unknown to payments', {
        orderId: id,
        paymentId: order.paymentId,
      });
      return 'not yet';
    }
    return this.#settle(order, answer);
  }

  /**
   * The payment's outcome was never learnt (no answer, or the request that asked died): the
   * same request again, with the same Idempotency-Key, tells it or makes it.
   */
  async #askAgain(order: Order): Promise<WorkResult> {
    const answer = await this.options.payments.pay(order);
    if (answer.outcome === 'unknown')
      this.options.logger.debug('payments still gave no answer for a pending order', {
        orderId: order.id,
        reason: answer.reason,
      });
    return this.#settle(order, answer);
  }

  async #settle(order: Order, answer: PaymentAnswer): Promise<WorkResult> {
    const { store, metrics, logger } = this.options;
    const settlement = settlementOf(answer);
    if (settlement.status === 'payment_pending') {
      // Followed from here on by its payment id, once payments has given one.
      const paymentId = settlement.paymentId ?? order.paymentId;
      if (order.status !== 'payment_pending' || paymentId !== order.paymentId)
        await store.settle({ ...order, ...settlement, updatedAt: now() });
      return 'not yet';
    }
    const next: Order = { ...order, ...settlement, updatedAt: now() };
    const stored = await store.settle(next);
    // The store hands back the version that was already final when another round got there first.
    if (!isDeepStrictEqual(stored, next)) return 'done';
    metrics.ordersReconciled.labels(stored.status).inc();
    logger.info('pending order settled', {
      orderId: order.id,
      paymentId: stored.paymentId,
      status: stored.status,
      ...(stored.failureReason === undefined ? {} : { failureReason: stored.failureReason }),
    });
    return 'done';
  }
}

const now = (): string => new Date().toISOString();
