import {
  DurableWorkQueue,
  QueueWorker,
  workQueueKeys,
  type Logger,
  type RecordStore,
  type RedisClient,
  type WorkResult,
} from '@cb-lab/shared';
import type { GatewayRoute } from './gateway-route';
import { failureReasonOf, gatewayAway, isGatewayRejected } from './gateway-failures';
import { chargedPayment, failedPayment, isFinal, type Payment } from './payment';

/** How many queued payments one round takes on. */
const BATCH = 25;

/** Payments waiting for the gateway: queued while its breaker was open, or whose charge timed out. */
export const paymentQueue = (redis: RedisClient): DurableWorkQueue =>
  new DurableWorkQueue(redis, workQueueKeys('payments', 'queue', 'settler'));

export interface QueueSettlerOptions {
  queue: DurableWorkQueue;
  store: RecordStore<Payment>;
  /** The primary gateway's route first: payments that name no gateway go there. */
  routes: readonly [GatewayRoute, ...GatewayRoute[]];
  intervalMs: number;
  /** Budget of one gateway call: the lock leaves room for the last one to finish. */
  callTimeoutMs: number;
  /** Unexpected failures a queued payment may have before it is failed for good. */
  maxAttempts: number;
  logger: Logger;
}

/**
 * Settles queued payments once the gateway answers again, each through the
 * gateway it was waiting for (a charge that timed out is asked again where it
 * was sent, never elsewhere, so it cannot be made twice). Every replica runs
 * one; the queue's lock lets one of them work at a time. Each payment is
 * charged with its own id as the gateway's idempotency key and settled by a
 * script that never overwrites a final status, so a payment is charged and
 * settled exactly once even if a settler dies half-way and another retries.
 * Charges go through the breaker: while it is open a round stops at once,
 * and after the open period a queued payment may be the cluster's probe. A
 * payment the gateway refuses (a 4xx) is failed at once with that reason; one
 * whose settling throws is retried with a backoff behind the others, and
 * failed as `settlement_failed` after `maxAttempts`.
 */
export class QueueSettler {
  readonly #worker: QueueWorker;

  constructor(private readonly options: QueueSettlerOptions) {
    this.#worker = new QueueWorker({
      queue: options.queue,
      name: 'queued payment',
      idField: 'paymentId',
      work: (id) => this.#settleOne(id),
      giveUp: (id, error) => this.#giveUp(id, error),
      intervalMs: options.intervalMs,
      itemTimeoutMs: options.callTimeoutMs,
      batch: BATCH,
      maxAttempts: options.maxAttempts,
      logger: options.logger,
    });
  }

  start(): void {
    this.#worker.start();
  }

  stop(): Promise<void> {
    return this.#worker.stop();
  }

  /** Runs one round now; resolves with how many payments it finished. */
  settleOnce(): Promise<number> {
    return this.#worker.runOnce();
  }

  async #settleOne(id: string): Promise<WorkResult> {
    const { store, logger } = this.options;
    const payment = await store.find(id);
    if (payment === undefined || isFinal(payment)) return 'done';
    const route = this.#routeOf(payment);
    let charged: Payment;
    try {
      charged = chargedPayment(payment, route.name, await route.charge(payment));
    } catch (error) {
      if (gatewayAway(error)) return 'unreachable'; // The rest waits for the next round.
      if (!isGatewayRejected(error)) throw error;
      const reason = failureReasonOf(error);
      await store.settle(failedPayment(payment, reason));
      logger.warn('queued payment refused by the gateway', {
        paymentId: id,
        orderId: payment.orderId,
        gateway: route.name,
        status: error.status,
        reason,
      });
      return 'done';
    }
    const settled = await store.settle(charged);
    logger.info('queued payment settled', {
      paymentId: id,
      orderId: settled.orderId,
      status: settled.status,
    });
    return 'done';
  }

  /** The route of the gateway the payment waits for: never another, which could charge it twice. */
  #routeOf(payment: Payment): GatewayRoute {
    const { routes } = this.options;
    if (payment.gateway === undefined) return routes[0];
    const route = routes.find((r) => r.name === payment.gateway);
    if (route === undefined)
      throw new Error(
        `payment ${payment.id} waits for gateway "${payment.gateway}", which this replica has no route to (configured: ${routes.map((r) => r.name).join(', ')})`,
      );
    return route;
  }

  async #giveUp(id: string, error: unknown): Promise<void> {
    const payment = await this.options.store.find(id);
    if (payment === undefined || isFinal(payment)) return;
    await this.options.store.settle(failedPayment(payment, 'settlement_failed'));
    this.options.logger.error('queued payment failed for good: settling it kept failing', {
      paymentId: id,
      orderId: payment.orderId,
      reason: 'settlement_failed',
      error,
    });
  }
}
