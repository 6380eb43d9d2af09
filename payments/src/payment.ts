import {
  FINAL_PAYMENT_STATUSES,
  type Payment,
  type PaymentFailureReason,
  type PaymentRequest,
} from '@cb-lab/contracts';

export {
  FINAL_PAYMENT_STATUSES,
  type Payment,
  type PaymentRequest,
  type PaymentStatus,
} from '@cb-lab/contracts';

export const isFinal = (payment: Payment): boolean =>
  (FINAL_PAYMENT_STATUSES as readonly string[]).includes(payment.status);

/** The payment once `gateway` answered `charge`: its status, charge id and decline code. */
export function chargedPayment(
  payment: Payment,
  gateway: string,
  charge: { id: string; status: 'approved' | 'declined'; declineCode?: string },
): Payment {
  return {
    ...payment,
    status: charge.status,
    chargeId: charge.id,
    gateway,
    ...(charge.declineCode === undefined ? {} : { declineCode: charge.declineCode }),
    attempts: payment.attempts + 1,
    updatedAt: new Date().toISOString(),
  };
}

/** The payment once an attempt at it failed for `reason`: no charge was made, one more attempt counted. */
export function failedPayment(payment: Payment, reason: PaymentFailureReason): Payment {
  return {
    ...payment,
    status: 'failed',
    failureReason: reason,
    attempts: payment.attempts + 1,
    updatedAt: new Date().toISOString(),
  };
}

/** Two requests with one Idempotency-Key must describe the same payment. */
export const samePaymentRequest = (a: PaymentRequest, b: PaymentRequest): boolean =>
  a.orderId === b.orderId && a.amount === b.amount && a.currency === b.currency;
