import { z } from 'zod';
import { bodyObject, timestampSchema } from './body';
import { amountSchema, currencySchema, identifierSchema } from './money';

/** `POST /orders`. */
export const orderRequestSchema = bodyObject(
  {
    customerId: identifierSchema('customer id'),
    amount: amountSchema,
    currency: currencySchema,
  },
  'expected a JSON object with customerId, amount and currency',
);

export type OrderRequest = z.output<typeof orderRequestSchema>;

/**
 * `processing` only while the payment call is under way; every order then
 * ends in `paid`, `payment_pending` (the payment will settle later) or
 * `payment_failed`.
 */
export const ORDER_STATUSES = ['processing', 'paid', 'payment_pending', 'payment_failed'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const FINAL_ORDER_STATUSES = [
  'paid',
  'payment_failed',
] as const satisfies readonly OrderStatus[];

/** An order, as `POST /orders` and `GET /orders/:id` answer it. */
export const orderSchema = z.object({
  id: z.string(),
  customerId: z.string(),
  amount: z.number(),
  currency: z.string(),
  status: z.enum(ORDER_STATUSES),
  paymentId: z.string().optional(),
  /** Why the payment failed: a decline code, or one of payments' failure reasons. */
  failureReason: z.string().optional(),
  createdAt: timestampSchema,
  updatedAt: timestampSchema,
});

export type Order = z.output<typeof orderSchema>;
