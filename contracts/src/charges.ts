import { z } from 'zod';
import { bodyObject } from './body';
import { amountSchema, currencySchema, identifierSchema } from './money';

/** `POST /charges` on the gateway; payments sends its payment id as `reference` and Idempotency-Key. */
export const chargeRequestSchema = bodyObject(
  {
    amount: amountSchema,
    currency: currencySchema,
    reference: identifierSchema('reference'),
  },
  'expected a JSON object with amount, currency and reference',
);

export type ChargeRequest = z.output<typeof chargeRequestSchema>;

/** The gateway's answer: a decline is a business answer, never a failure. */
export const chargeSchema = z.object({
  id: z.string(),
  status: z.enum(['approved', 'declined']),
  declineCode: z.string().optional(),
});

export type Charge = z.output<typeof chargeSchema>;

/** A charge as the gateway records it: what `GET /admin/charges` lists. */
export const recordedChargeSchema = chargeSchema.extend({
  amount: z.number(),
  currency: z.string(),
  reference: z.string(),
  createdAt: z.string(),
});

export type RecordedCharge = z.output<typeof recordedChargeSchema>;

/** `GET /admin/charges` on the gateway (admin token), optionally `?reference=<payment id>`. */
export const chargeListSchema = z.object({ charges: z.array(recordedChargeSchema) });
