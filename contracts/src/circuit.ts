import { z } from 'zod';
import { bodyObject } from './body';

export const BREAKER_STATES = ['closed', 'open', 'half_open', 'isolated'] as const;
export type BreakerState = (typeof BREAKER_STATES)[number];

const nullableTimestamp = z.string().nullable();

/** The shared state as Redis holds it (`redis` in the circuit view). */
export const sharedStateSchema = z.object({
  state: z.enum(BREAKER_STATES),
  failures: z.number(),
  epoch: z.number(),
  openCount: z.number(),
  probeOwner: z.string(),
});

/**
 * `GET /payments/circuit`: the breaker as one payments replica enforces it,
 * and the shared state in Redis now (`null` when Redis does not answer, or
 * for a breaker switched off, `enabled: false`).
 */
export const circuitViewSchema = z.object({
  enabled: z.boolean(),
  breaker: z.string(),
  state: z.enum(BREAKER_STATES),
  failures: z.number(),
  replica: z.string(),
  /** `redis` while the shared state is in use; `local` while the replica decides alone. */
  store: z.enum(['redis', 'local']),
  /** `standalone`, `sentinel` or `cluster`. */
  storeTopology: z.string().nullable(),
  /** The Redis server that holds the breaker's state, as this replica last reached it. */
  storeServer: z.string().nullable(),
  /** How often that server changed under this replica (failovers, a moved slot). */
  storeSwitches: z.number(),
  mode: z.string(),
  openedAt: nullableTimestamp,
  halfOpenAt: nullableTimestamp,
  openCount: z.number(),
  openMs: z.number(),
  clockOffsetMs: z.number(),
  redis: sharedStateSchema.nullable(),
});

export type CircuitView = z.output<typeof circuitViewSchema>;

/** `POST /payments/circuit/isolate` and `/reset`: an optional reason, logged with the transition. */
export const circuitActionSchema = bodyObject(
  {
    reason: z
      .string({ error: 'expected the reason as a string' })
      .min(1, 'expected a non-empty reason')
      .max(200, 'expected at most 200 characters')
      .optional(),
  },
  'expected a JSON object with an optional reason',
).optional();
