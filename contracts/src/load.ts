import { z } from 'zod';
import { bodyObject } from './body';

/** The load generator's highest rate, in orders per second. */
export const MAX_LOAD_RATE = 1_000;

const rateExpected = `expected 0 (paused) to ${MAX_LOAD_RATE}`;

/** `PUT /load` on the load generator (admin token): the new rate; 0 pauses it. */
export const loadRateRequestSchema = bodyObject(
  {
    ratePerSecond: z
      .number({ error: 'expected ratePerSecond as a number of orders per second' })
      .min(0, rateExpected)
      .max(MAX_LOAD_RATE, rateExpected),
  },
  'expected a JSON object with ratePerSecond',
);

/** `GET /load` and `PUT /load`: the rate now, and where the orders go. */
export const loadStatusSchema = z.object({
  ratePerSecond: z.number(),
  ordersUrl: z.string(),
});

export type LoadStatus = z.output<typeof loadStatusSchema>;
