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
  /** While isolated: when the isolation ends by itself (null: until a reset), and why. */
  isolation: z.object({ until: nullableTimestamp, reason: z.string().nullable() }).nullable(),
  /** When Redis last answered this replica (null: never yet). */
  lastStoreReplyAt: nullableTimestamp,
  /** Transitions this replica's view had missed when its last periodic read caught them. */
  epochsBehind: z.number(),
  redis: sharedStateSchema.nullable(),
});

export type CircuitView = z.output<typeof circuitViewSchema>;

const reasonSchema = z
  .string({ error: 'expected the reason as a string' })
  .min(1, 'expected a non-empty reason')
  .max(200, 'expected at most 200 characters')
  .optional();

/** The longest timed isolation: a week. Longer is "until a reset". */
export const MAX_ISOLATION_MS = 7 * 24 * 3_600_000;

/** `POST /payments/circuit/reset`: an optional reason, logged with the transition. */
export const circuitActionSchema = bodyObject(
  { reason: reasonSchema },
  'expected a JSON object with an optional reason',
).optional();

/**
 * `POST /payments/circuit/isolate`: an optional reason, shown while isolated,
 * and an optional `forMs` after which the breaker closes by itself.
 */
export const circuitIsolateSchema = bodyObject(
  {
    reason: reasonSchema,
    forMs: z
      .number({ error: 'expected forMs as whole milliseconds' })
      .int('expected forMs as whole milliseconds')
      .min(1_000, 'expected forMs of at least 1000 (one second)')
      .max(MAX_ISOLATION_MS, `expected forMs of at most ${MAX_ISOLATION_MS} (a week)`)
      .optional(),
  },
  'expected a JSON object with an optional reason and forMs',
).optional();
