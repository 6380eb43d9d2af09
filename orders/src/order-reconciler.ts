import { isDeepStrictEqual } from 'node:util';
import {
  DurableWorkQueue,
  newRequestId,
  PeriodicTask,
  runWithRequestId,
  type Logger,
  type RecordStore,
  type RedisClient,
} from '@cb-lab/shared';
import type { Order } from './order';
import type { OrdersMetrics } from './orders-metrics';
import type { PaymentsClient, PaymentState } from './payments-client';

/** Ids of orders whose payment is still to settle, oldest first, and the reconcilers' lock. */
export const pendingOrders = (redis: RedisClient): DurableWorkQueue =>
  new DurableWorkQueue(redis, { items: '{orders}:pending', lock: '{orders}:pending:reconciler' });

/** How many pending orders one round takes on. */
const BATCH = 50;

/** The final status a pending order gets from its settled payment. */
export type Settlement = { status: 'paid' } | { status: 'payment_failed'; failureReason: string };

/**
 * An approved payment pays the order, a declined one fails it; any other
 * state may still change, so it settles nothing yet.
 */
export function settlementFor(payment: PaymentState): Settlement | undefined {
  if (payment.status === 'approved') return { status: 'paid' };
  if (payment.status === 'declined')
    return { status: 'payment_failed', failureReason: payment.declineCode ?? 'declined' };
  return undefined;
}

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
  metrics: OrdersMetrics;
  logger: Logger;
}

/**
 * Settles orders that ended their request `payment_pending`: payments queued
 * the payment (the gateway's breaker was open, or its charge timed out) and
 * the order waits for it to be charged; or orders never learnt what payments
 * did (a timeout, a broken connection) and asks again with the same
 * Idempotency-Key, which cannot charge twice. Every orders instance runs one; the pending set's lock lets one of
 * them work at a time. Orders are settled through the store's script, which
 * never overwrites a final status, so even two rounds overlapping after a
 * lock expiry cannot change an order twice.
 */
export class OrderReconciler {
  readonly #task: PeriodicTask<number>;

  constructor(private readonly options: OrderReconcilerOptions) {
    this.#task = new PeriodicTask({
      intervalMs: options.intervalMs,
      // A request id per round ties this instance's logs to the payments calls it made.
      run: () => runWithRequestId(newRequestId(), () => this.#reconcile()),
      onError: (error) => {
        options.logger.warn('pending orders could not be reconciled this round', { error });
      },
    });
  }

  start(): void {
    this.#task.start();
  }

  /** Stops the loop and waits for a round in progress to finish. */
  stop(): Promise<void> {
    return this.#task.stop();
  }

  /** Runs one round now; resolves with how many orders it settled. */
  reconcileOnce(): Promise<number> {
    return this.#task.runOnce();
  }

  async #reconcile(): Promise<number> {
    const { pending, intervalMs, callTimeoutMs } = this.options;
    if ((await pending.size()) === 0) return 0;
    // Ten intervals to work in; no order is started within two calls' budget of the lock's
    // expiry, so another instance does not take the lock over while this one is still settling.
    const settled = await pending.whileLocked(
      intervalMs * 10 + callTimeoutMs * 2,
      callTimeoutMs * 2,
      async (startNothingAfter) => {
        let count = 0;
        for (const id of await pending.oldest(BATCH)) {
          if (Date.now() > startNothingAfter || this.#task.stopping) break;
          if (await this.#reconcileOrder(id)) count += 1;
        }
        return count;
      },
    );
    return settled ?? 0;
  }

  /** Settles one order if its payment is final; true when this call settled it. */
  async #reconcileOrder(id: string): Promise<boolean> {
    const { pending, store, payments, logger } = this.options;
    const order = await store.find(id);
    if (order?.status === 'processing') {
      // Its request is probably still waiting for payments; only an abandoned one is ours.
      const abandoned = Date.now() - Date.parse(order.updatedAt) > 2 * this.options.callTimeoutMs;
      return abandoned ? this.#askAgain(order) : false;
    }
    if (order?.status !== 'payment_pending') {
      // Expired, or already settled: nothing left to reconcile.
      await pending.remove(id);
      return false;
    }
    if (order.paymentId === undefined) return this.#askAgain(order);
    // A failure to reach payments ends the round: the next orders would fail the same way.
    const payment = await payments.find(order.paymentId);
    if (payment === undefined) {
      logger.debug('payment of a pending order is unknown to payments', {
        orderId: id,
        paymentId: order.paymentId,
      });
      return false;
    }
    const settlement = settlementFor(payment);
    if (settlement === undefined) return false;

    return this.#finish(order, settlement, order.paymentId);
  }

  /**
   * The payment's outcome was never learnt (no answer, or the request that asked died): the
   * same request again, with the same Idempotency-Key, tells it or makes it.
   */
  async #askAgain(order: Order): Promise<boolean> {
    const { payments, store, logger } = this.options;
    const answer = await payments.pay(order);
    switch (answer.outcome) {
      case 'approved':
        return this.#finish(order, { status: 'paid' }, answer.paymentId);
      case 'declined':
        return this.#finish(
          order,
          { status: 'payment_failed', failureReason: answer.reason },
          answer.paymentId,
        );
      case 'failed':
        return this.#finish(
          order,
          { status: 'payment_failed', failureReason: answer.reason },
          undefined,
        );
      case 'pending':
        // Queued by payments now: from here on it is followed by its payment id.
        await store.settle({
          ...order,
          status: 'payment_pending',
          paymentId: answer.paymentId,
          updatedAt: now(),
        });
        return false;
      case 'unknown':
        if (order.status === 'processing')
          await store.settle({ ...order, status: 'payment_pending', updatedAt: now() });
        logger.debug('payments still gave no answer for a pending order', {
          orderId: order.id,
          reason: answer.reason,
        });
        return false;
    }
  }

  async #finish(
    order: Order,
    settlement: Settlement,
    paymentId: string | undefined,
  ): Promise<boolean> {
    const { pending, store, metrics, logger } = this.options;
    const next: Order = {
      ...order,
      ...settlement,
      ...(paymentId === undefined ? {} : { paymentId }),
      updatedAt: now(),
    };
    const stored = await store.settle(next);
    await pending.remove(order.id);
    // The store hands back the version that was already final when another round got there first.
    if (!isDeepStrictEqual(stored, next)) return false;
    metrics.ordersReconciled.labels(stored.status).inc();
    logger.info('pending order settled', {
      orderId: order.id,
      paymentId: stored.paymentId,
      status: stored.status,
      ...(stored.failureReason === undefined ? {} : { failureReason: stored.failureReason }),
    });
    return true;
  }
}

const now = (): string => new Date().toISOString();
