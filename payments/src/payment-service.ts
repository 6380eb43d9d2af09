import { randomUUID } from 'node:crypto';
import { HttpError, type Logger, type RecordStore } from '@cb-lab/shared';
import { isBrokenCircuitError, TaskCancelledError } from 'cockatiel';
import type { GatewayBreaker } from './gateway-breaker';
import { isGatewayUnavailable, type GatewayClient } from './gateway-client';
import { isFinal, samePaymentRequest, type Payment, type PaymentRequest } from './payment';

export interface PaymentOutcome {
  payment: Payment;
  /** True when the key had already been settled and nothing new happened. */
  replayed: boolean;
}

/**
 * Takes a payment from request to final answer: claims the idempotency key,
 * charges through the breaker, and records what the gateway said.
 */
export class PaymentService {
  constructor(
    private readonly store: RecordStore<Payment>,
    private readonly gateway: GatewayClient,
    private readonly breaker: GatewayBreaker,
    private readonly logger: Logger,
  ) {}

  async pay(request: PaymentRequest, idempotencyKey: string): Promise<PaymentOutcome> {
    const now = new Date().toISOString();
    const { record: payment } = await this.store.create(
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
    if (!samePaymentRequest(payment, request)) {
      throw new HttpError(
        422,
        'idempotency_key_reused',
        `Idempotency-Key ${idempotencyKey} belongs to payment ${payment.id}, which has another order, amount or currency`,
      );
    }
    if (isFinal(payment)) return { payment, replayed: true };
    return { payment: await this.#charge(payment), replayed: false };
  }

  find(id: string): Promise<Payment | undefined> {
    return this.store.find(id);
  }

  async #charge(payment: Payment): Promise<Payment> {
    const attempt = { ...payment, attempts: payment.attempts + 1 };
    try {
      const charge = await this.breaker.execute((signal) =>
        this.gateway.charge(
          { amount: payment.amount, currency: payment.currency, reference: payment.id },
          signal,
        ),
      );
      const settled = await this.store.settle({
        ...attempt,
        status: charge.status,
        chargeId: charge.id,
        ...(charge.declineCode === undefined ? {} : { declineCode: charge.declineCode }),
        updatedAt: new Date().toISOString(),
      });
      this.logger.info('payment settled', {
        paymentId: settled.id,
        orderId: settled.orderId,
        status: settled.status,
      });
      return settled;
    } catch (error) {
      const failure = this.#describeFailure(error);
      await this.store.settle({
        ...attempt,
        status: 'failed',
        failureReason: failure.code,
        updatedAt: new Date().toISOString(),
      });
      this.logger.warn('payment failed', {
        paymentId: payment.id,
        orderId: payment.orderId,
        reason: failure.code,
        error,
      });
      throw failure;
    }
  }

  #describeFailure(error: unknown): HttpError {
    if (isBrokenCircuitError(error)) {
      return new HttpError(
        503,
        'circuit_open',
        'The payment gateway circuit is open; try again later',
        {
          'Retry-After': String(this.breaker.retryAfterSeconds()),
        },
      );
    }
    if (
      error instanceof TaskCancelledError ||
      (isGatewayUnavailable(error) && error.kind === 'timeout')
    ) {
      return new HttpError(504, 'gateway_timeout', 'The payment gateway did not answer in time');
    }
    if (isGatewayUnavailable(error)) {
      return new HttpError(
        502,
        'gateway_unavailable',
        `The payment gateway failed: ${error.message}`,
      );
    }
    return new HttpError(502, 'gateway_error', 'The payment gateway rejected the charge request');
  }
}
