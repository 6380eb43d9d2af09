import {
  checkRedisTopology,
  env,
  recordRetentionShape,
  redisConfigShape,
  serviceConfigShape,
} from '@cb-lab/shared';
import { z } from 'zod';

export const ordersConfigSchema = z
  .object({
    ...serviceConfigShape,
    ...redisConfigShape,
    ...recordRetentionShape,
    /** Every address this host name resolves to is a payments replica; calls are spread over all of them. */
    PAYMENTS_URL: env.url({ protocols: ['http:'], default: 'http://localhost:8081' }),
    /** Longer than the payments service's own gateway budget, so its answer (even a failure) arrives. */
    PAYMENTS_TIMEOUT_MS: env.int({ min: 1, max: 60_000, default: 3_000 }),
    /** How often the replica list is looked up again, so scaled or restarted replicas are found. */
    PAYMENTS_DNS_REFRESH_MS: env.int({ min: 100, max: 600_000, default: 2_000 }),
    /** How often each instance asks payments about orders still `payment_pending`. */
    PENDING_RECONCILE_INTERVAL_MS: env.int({ min: 50, max: 600_000, default: 2_000 }),
  })
  .superRefine(checkRedisTopology);

export type OrdersConfig = z.output<typeof ordersConfigSchema>;
