import { adminTokenSchema, env, serviceConfigShape } from '@cb-lab/shared';
import { z } from 'zod';

export const gatewayConfigSchema = z.object({
  ...serviceConfigShape,
  /** Charges above this many minor units are declined as `insufficient_funds`. */
  CARD_LIMIT_MINOR: env.int({ min: 1, default: 500_000 }),
  /** How many idempotency keys the gateway remembers (oldest forgotten first). */
  IDEMPOTENCY_CACHE_SIZE: env.int({ min: 1, max: 10_000_000, default: 100_000 }),
  /** Bearer token of the fault-injection admin API; no default, so the gateway is never left open. */
  ADMIN_TOKEN: adminTokenSchema,
});

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
