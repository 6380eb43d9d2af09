import { env, serviceConfigShape } from '@cb-lab/shared';
import { z } from 'zod';

export const paymentsConfigSchema = z.object({
  ...serviceConfigShape,
  REDIS_URL: env.url({ protocols: ['redis:', 'rediss:'], default: 'redis://localhost:6379' }),
  GATEWAY_URL: env.url({ protocols: ['http:', 'https:'], default: 'http://localhost:8090' }),
  /** Budget for one gateway call; past it the call counts as a failure. */
  GATEWAY_TIMEOUT_MS: env.int({ min: 1, max: 60_000, default: 1_000 }),
  /** The breaker opens after this many consecutive gateway failures (pybreaker's `fail_max`). */
  BREAKER_FAILURE_THRESHOLD: env.int({ min: 1, max: 1_000, default: 5 }),
  /** How long the breaker stays open before it lets a probe through (pybreaker's `reset_timeout`). */
  BREAKER_OPEN_MS: env.int({ min: 100, max: 3_600_000, default: 10_000 }),
});

export type PaymentsConfig = z.output<typeof paymentsConfigSchema>;
