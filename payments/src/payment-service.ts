import { randomUUID } from 'node:crypto';
import {
  idempotencyKeyReused,
  type DurableWorkQueue,
  type HttpError,
  type Logger,
  type RecordStore,
} from '@cb-lab/shared';
import { isBrokenCircuitError } from 'cockatiel';
import type { Counter } from 'prom-client';
import type { FallbackStrategy } from './config';
import type { GatewayCharge } from './gateway-client';
import {
  afterFallbackFailure,
  afterPrimaryFailure,
  failureReasonOf,
  paymentFailure,
} from './gateway-failures';
import type { GatewayRoute } from './gateway-route';
import {
  chargedPayment,
  failedPayment,
  isFinal,
  samePaymentRequest,
  type Payment,
  type PaymentRequest,
} from './payment';

export interface PaymentOutcome {
  payment: Payment;
  /** True when the key had already been settled and nothing new happened. */
  replayed: boolean;
}

export interface PaymentServiceOptions {
  store: RecordStore<Payment>;
  primary: GatewayRoute;
  strategy: FallbackStrategy;
  /** Required by the `secondary` strategy. */
  secondary?: GatewayRoute;
  /**
   * Payments waiting for the gateway: queued by the `queue` strategy, and
   * every payment whose charge timed out, whatever the strategy.
   */
  queue: DurableWorkQueue;
  fallbacks: Counter<'strategy'>;
  logger: Logger;
}

/**
 * Takes a payment from request to answer: claims the idempotency key,
 * charges through the primary gateway's breaker and, when that breaker is
 * open, applies the configured fallback: reject fast, queue the payment for
 * later, or charge the secondary gateway.
 */
export class PaymentService {
  constructor(private readonly options: PaymentServiceOptions) {}

  async pay(request: PaymentRequest, idempotencyKey: string): Promise<PaymentOutcome> {
    const now = new Date().toISOString();
    const { record: payment, created } = await this.options.store.create(
      {
        id: randomUUID(),
        ...request,
        status: 'processing',
        attempts: 0,
        createdAt: now,
        updatedAt: now,
      },
      idempotencyKey,
    );
    if (!samePaymentRequest(payment, request))
      throw idempotencyKeyReused(
        idempotencyKey,
        `payment ${payment.id}`,
        'order, amount or currency',
      );
    if (isFinal(payment)) return { payment, replayed: true };
    if (payment.status === 'pending') {
      // The settler owns it now. It is recorded pending before it is queued, two writes: a
      // replica that died between them (or a Redis that refused the second) left it out of
      // line, so it is queued again, keeping its place if it has one.
      await this.options.queue.add(payment.id);
      return { payment, replayed: true };
    }
    // Still `processing` on a retry: an earlier attempt is under way, or died (its replica
    // crashed) after its charge may have reached the gateway.
    const earlierAttemptUnknown = !created && payment.status === 'processing';
    return { payment: await this.#charge(payment, earlierAttemptUnknown), replayed: false };
  }

  find(id: string): Promise<Payment | undefined> {
    return this.options.store.find(id);
  }

  async #charge(payment: Payment, earlierAttemptUnknown: boolean): Promise<Payment> {
    const { primary } = this.options;
    try {
      return await this.#settle(payment, primary, await primary.charge(payment));
    } catch (error) {
      switch (afterPrimaryFailure(error, earlierAttemptUnknown)) {
        case 'await confirmation':
          return this.#awaitConfirmation(payment, primary);
        case 'fallback':
          return this.#fallback(payment, error as Error);
        case 'fail':
          throw await this.#fail(payment, error, primary);
      }
    }
  }

  /**
   * The charge timed out or its connection broke after it was sent: the
   * gateway may have made it. Failing the payment could lose a charge, so it
   * waits in the queue and the settler asks the same gateway again with the
   * same idempotency key, which either returns the charge made or makes it.
   */
  async #awaitConfirmation(payment: Payment, route: GatewayRoute): Promise<Payment> {
    const pending = await this.#waitInQueue({
      ...payment,
      gateway: route.name,
      failureReason: 'gateway_outcome_unknown',
      attempts: payment.attempts + 1,
    });
    this.options.logger.warn('gateway outcome unknown; the payment waits for confirmation', {
      paymentId: payment.id,
      orderId: payment.orderId,
      gateway: route.name,
    });
    return pending;
  }

  /** Stores `payment` as pending and hands it to the settler. */
  async #waitInQueue(payment: Payment): Promise<Payment> {
    const pending = await this.options.store.settle({
      ...payment,
      status: 'pending',
      updatedAt: new Date().toISOString(),
    });
    await this.options.queue.add(payment.id);
    return pending;
  }

  async #fallback(payment: Payment, rejection: Error): Promise<Payment> {
    const { strategy, secondary, fallbacks, logger } = this.options;
    fallbacks.labels(strategy).inc();
    if (strategy === 'queue') {
      const pending = await this.#waitInQueue(payment);
      logger.info('payment queued until the gateway is back', {
        paymentId: payment.id,
        orderId: payment.orderId,
      });
      return pending;
    }
    if (strategy === 'secondary' && secondary) {
      try {
        return await this.#settle(payment, secondary, await secondary.charge(payment));
      } catch (error) {
        if (afterFallbackFailure(error) === 'await confirmation')
          return this.#awaitConfirmation(payment, secondary);
        throw await this.#fail(payment, error, secondary);
      }
    }
    throw await this.#fail(payment, rejection, this.options.primary);
  }

  async #settle(payment: Payment, route: GatewayRoute, charge: GatewayCharge): Promise<Payment> {
    const settled = await this.options.store.settle(chargedPayment(payment, route.name, charge));
    this.options.logger.info('payment settled', {
      paymentId: settled.id,
      orderId: settled.orderId,
      status: settled.status,
      gateway: route.name,
    });
    return settled;
  }

  /** Records the failed attempt on `route` and returns the HTTP error that explains it. */
  async #fail(payment: Payment, error: unknown, route: GatewayRoute): Promise<HttpError> {
    // A refusal's Retry-After is the breaker's of the gateway whose call failed.
    const failure = paymentFailure(error, () => route.breaker.retryAfterSeconds());
    await this.options.store.settle(failedPayment(payment, failureReasonOf(error)));
    this.options.logger.warn('payment failed', {
      paymentId: payment.id,
      orderId: payment.orderId,
      reason: failure.code,
      ...(isBrokenCircuitError(error) ? {} : { error }),
    });
    return failure;
  }
}
