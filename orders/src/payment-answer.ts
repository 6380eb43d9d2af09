import type { Payment } from '@cb-lab/contracts';
import type { Order, OrderStatus } from './order';

/** What became of an order's payment, as far as orders needs to know. */
export type PaymentAnswer =
  | { outcome: 'approved'; paymentId: string }
  | { outcome: 'declined'; paymentId: string; reason: string }
  /** Payments holds it (queued for the gateway, or a charge under way): it settles later. */
  | { outcome: 'pending'; paymentId: string }
  /**
   * No charge was made: the breaker was open, the gateway refused, payments could not be
   * reached, or the queued payment was failed for good.
   */
  | { outcome: 'failed'; reason: string; paymentId?: string }
  /**
   * No answer that says what happened: the call timed out, its connection broke after it was
   * sent, or payments could not reach its own store. Payments may have charged; asking again
   * with the same Idempotency-Key finds out.
   */
  | { outcome: 'unknown'; reason: string };

/** A payment as payments shows it, reduced to what decides an order. */
export type PaymentState = Pick<Payment, 'id' | 'status' | 'declineCode' | 'failureReason'>;

/** The answer a stored payment gives: final when approved, declined or failed; pending while it waits or runs. */
export function answerOfPayment(payment: PaymentState): PaymentAnswer {
  const paymentId = payment.id;
  switch (payment.status) {
    case 'approved':
      return { outcome: 'approved', paymentId };
    case 'declined':
      return { outcome: 'declined', paymentId, reason: payment.declineCode ?? 'declined' };
    case 'failed':
      return { outcome: 'failed', paymentId, reason: payment.failureReason ?? 'payment_failed' };
    case 'pending':
    case 'processing':
      return { outcome: 'pending', paymentId };
  }
}

/** What an order records once its payment answered. */
export type OrderSettlement = Pick<Order, 'status' | 'paymentId' | 'failureReason'>;

const STATUS_BY_OUTCOME: Record<PaymentAnswer['outcome'], OrderStatus> = {
  approved: 'paid',
  declined: 'payment_failed',
  failed: 'payment_failed',
  pending: 'payment_pending',
  // The reconciler asks payments again with the same key until it has an answer.
  unknown: 'payment_pending',
};

/**
 * The one mapping from a payment's answer to the order's status, used when
 * the order is placed and when the reconciler settles it later: approved
 * pays it, declined or failed fails it with the reason, and anything that
 * may still change leaves it `payment_pending`.
 */
export function settlementOf(answer: PaymentAnswer): OrderSettlement {
  return {
    status: STATUS_BY_OUTCOME[answer.outcome],
    ...('paymentId' in answer && answer.paymentId !== undefined
      ? { paymentId: answer.paymentId }
      : {}),
    ...(answer.outcome === 'declined' || answer.outcome === 'failed'
      ? { failureReason: answer.reason }
      : {}),
  };
}
