/**
 * `processing` while a gateway call may be under way; `pending` when it
 * waits in the queue for the gateway: queued while the breaker was open, or
 * its charge timed out and may or may not have been made (the settler asks
 * again with the same idempotency key); `failed` when the gateway said it
 * could not charge (a retry with the same Idempotency-Key tries again);
 * `approved` and `declined` are final and never change.
 */
export type PaymentStatus = 'processing' | 'pending' | 'approved' | 'declined' | 'failed';

export const FINAL_PAYMENT_STATUSES = [
  'approved',
  'declined',
] as const satisfies readonly PaymentStatus[];

export interface PaymentRequest {
  orderId: string;
  amount: number;
  currency: string;
}

export interface Payment extends PaymentRequest {
  id: string;
  status: PaymentStatus;
  chargeId?: string;
  /** Which gateway made the charge. */
  gateway?: string;
  declineCode?: string;
  failureReason?: string;
  attempts: number;
  createdAt: string;
  updatedAt: string;
}

export const isFinal = (payment: Payment): boolean =>
  (FINAL_PAYMENT_STATUSES as readonly PaymentStatus[]).includes(payment.status);

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

/** Two requests with one Idempotency-Key must describe the same payment. */
export const samePaymentRequest = (a: PaymentRequest, b: PaymentRequest): boolean =>
  a.orderId === b.orderId && a.amount === b.amount && a.currency === b.currency;

/** Records are kept a week: long enough for any lab session, bounded for a load generator left running. */
export const PAYMENT_TTL_SECONDS = 7 * 24 * 3600;
