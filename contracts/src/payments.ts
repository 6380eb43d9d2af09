import { z } from 'zod';
import { bodyObject, timestampSchema } from './body';
import { amountSchema, currencySchema, identifierSchema } from './money';

/** `POST /payments` (with a required Idempotency-Key). */
export const paymentRequestSchema = bodyObject(
  {
    orderId: identifierSchema('order id'),
    amount: amountSchema,
    currency: currencySchema,
  },
  'expected a JSON object with orderId, amount and currency',
);

export type PaymentRequest = z.output<typeof paymentRequestSchema>;

/**
 * `processing` while a gateway call may be under way; `pending` when it
 * waits in the queue for the gateway; `failed` when no charge could be made
 * (a retry with the same Idempotency-Key tries again); `approved` and
 * `declined` are final and never change.
 */
export const PAYMENT_STATUSES = [
  'processing',
  'pending',
  'approved',
  'declined',
  'failed',
] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

export const FINAL_PAYMENT_STATUSES = [
  'approved',
  'declined',
] as const satisfies readonly PaymentStatus[];

/** Why a payment failed or waits, as recorded on it (`failureReason`). */
export const PAYMENT_FAILURE_REASONS = [
  'circuit_open',
  'gateway_unavailable',
  'gateway_error',
  /** A queued payment whose settling kept failing unexpectedly and was given up. */
  'settlement_failed',
  /** Not a failure: the charge may have been made, and the settler asks the gateway again. */
  'gateway_outcome_unknown',
] as const;
export type PaymentFailureReason = (typeof PAYMENT_FAILURE_REASONS)[number];

/** A payment, as `POST /payments` and `GET /payments/:id` answer it. */
export const paymentSchema = z.object({
  id: z.string(),
  orderId: z.string(),
  amount: z.number(),
  currency: z.string(),
  status: z.enum(PAYMENT_STATUSES),
  chargeId: z.string().optional(),
  /** Which gateway made the charge, or is asked for it. */
  gateway: z.string().optional(),
  declineCode: z.string().optional(),
  failureReason: z.enum(PAYMENT_FAILURE_REASONS).optional(),
  attempts: z.number(),
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});

export type Payment = z.output<typeof paymentSchema>;
