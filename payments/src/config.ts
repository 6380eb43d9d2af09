import {
  adminTokenSchema,
  checkRedisTopology,
  env,
  recordRetentionShape,
  redisConfigShape,
  serviceConfigShape,
} from '@cb-lab/shared';
import { callerIdSchema } from '@cb-lab/contracts';
import { z } from 'zod';

export const FALLBACK_STRATEGIES = ['reject', 'queue', 'secondary'] as const;
export type FallbackStrategy = (typeof FALLBACK_STRATEGIES)[number];

export const paymentsConfigSchema = z
  .object({
    ...serviceConfigShape,
    ...redisConfigShape,
    ...recordRetentionShape,
    ADMIN_TOKEN: adminTokenSchema,
    GATEWAY_URL: env.url({ protocols: ['http:', 'https:'], default: 'http://localhost:8090' }),
    /** Budget for one gateway call; past it the call counts as a failure. */
    GATEWAY_TIMEOUT_MS: env.int({ min: 1, max: 60_000, default: 1_000 }),
    /** What a payment gets while the breaker is open. */
    FALLBACK_STRATEGY: env.oneOf(FALLBACK_STRATEGIES, 'reject'),
    /** The second gateway instance used by the `secondary` strategy. */
    SECONDARY_GATEWAY_URL: env.url({ protocols: ['http:', 'https:'] }).optional(),
    /** How often each replica looks for queued payments to settle (`queue` strategy). */
    QUEUE_SETTLE_INTERVAL_MS: env.int({ min: 50, max: 600_000, default: 1_000 }),
    /**
     * Times settling one queued payment may fail unexpectedly (not the gateway being away) before
     * it is failed as `settlement_failed`; retries back off from the settle interval.
     */
    QUEUE_MAX_ATTEMPTS: env.int({ min: 1, max: 100, default: 5 }),

    /**
     * `false` takes the breaker out of the gateway calls (they keep their timeout), to see
     * and measure the same stack without it.
     */
    BREAKER_ENABLED: env.boolean({ default: true }),
    /** `consecutive` failures (pybreaker's `fail_max`) or failure `rate` over a sliding window. */
    BREAKER_MODE: env.oneOf(['consecutive', 'rate'], 'consecutive'),
    /** Consecutive mode: the breaker opens after this many consecutive gateway failures. */
    BREAKER_FAILURE_THRESHOLD: env.int({ min: 1, max: 1_000, default: 5 }),
    /** Rate mode: the share of failed calls in the window that opens the breaker. */
    BREAKER_FAILURE_RATE: env.number({ min: 0.01, max: 1, default: 0.5 }),
    BREAKER_MIN_CALLS: env.int({ min: 1, max: 100_000, default: 10 }),
    BREAKER_WINDOW_MS: env.int({ min: 100, max: 3_600_000, default: 10_000 }),
    /** How long the breaker stays open before one probe (pybreaker's `reset_timeout`). */
    BREAKER_OPEN_MS: env.int({ min: 100, max: 3_600_000, default: 10_000 }),
    /** Failed probes double the open period up to this; equal to BREAKER_OPEN_MS by default (no growth). */
    BREAKER_MAX_OPEN_MS: env.optionalInt({ min: 100, max: 3_600_000 }),
    /** Successful gateway calls slower than this count as failures (unset: never). */
    BREAKER_SLOW_CALL_MS: env.optionalInt({ min: 1, max: 60_000 }),
    /**
     * `true` counts a gateway call as a slow failure the moment it has been in flight for
     * BREAKER_SLOW_CALL_MS (which it needs), so a hang opens the breaker that long after it
     * begins; the call itself still runs to GATEWAY_TIMEOUT_MS.
     */
    BREAKER_SLOW_CALLS_IN_FLIGHT: env.boolean({ default: false }),
    /** Budget of one Redis operation of the breaker; past it the breaker runs locally. */
    BREAKER_STORE_TIMEOUT_MS: env.int({ min: 1, max: 10_000, default: 100 }),
    /**
     * Distinct replicas that must see gateway failures (within BREAKER_QUORUM_WINDOW_MS) before
     * the shared breaker opens; below it, a replica whose own path fails is stopped by its own
     * breaker. 1 (the default) is no quorum: any replica's failures open it for all.
     */
    BREAKER_QUORUM: env.int({ min: 1, max: 100, default: 1 }),
    /** How far back a replica's last failure counts towards the quorum (default: the rate window, or 10 s). */
    BREAKER_QUORUM_WINDOW_MS: env.optionalInt({ min: 100, max: 3_600_000 }),
    /**
     * `shared` (the default): one breaker for every replica, its state in Redis. `replica`: each
     * replica its own breaker on its own calls (its state in Redis under a name of its own), the
     * per-replica breakers most libraries give, to compare against.
     */
    BREAKER_SCOPE: env.oneOf(['shared', 'replica'], 'shared'),
    /** While Redis is unreachable: `local` (cockatiel breaker per replica) or `reject` (fail closed). */
    BREAKER_WHEN_STORE_DOWN: env.oneOf(['local', 'reject'], 'local'),
  })
  .superRefine((config, context) => {
    checkRedisTopology(config, context);
    // It names this replica to the gateway (Caller-Replica), which refuses a malformed name.
    const caller = callerIdSchema.safeParse(config.INSTANCE);
    if (!caller.success) {
      context.addIssue({
        code: 'custom',
        path: ['INSTANCE'],
        message: caller.error.issues[0]?.message ?? 'expected a replica id',
      });
    }
    if (config.FALLBACK_STRATEGY === 'secondary' && config.SECONDARY_GATEWAY_URL === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['SECONDARY_GATEWAY_URL'],
        message: 'expected a URL when FALLBACK_STRATEGY is secondary',
      });
    }
    if (config.BREAKER_SLOW_CALLS_IN_FLIGHT && config.BREAKER_SLOW_CALL_MS === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['BREAKER_SLOW_CALLS_IN_FLIGHT'],
        message:
          'expected BREAKER_SLOW_CALL_MS to be set too (the time after which a call is slow)',
      });
    }
    if (config.BREAKER_SCOPE === 'replica' && config.BREAKER_QUORUM > 1) {
      context.addIssue({
        code: 'custom',
        path: ['BREAKER_QUORUM'],
        message: 'expected 1 with BREAKER_SCOPE=replica (a breaker of one replica has no quorum)',
      });
    }
    if (config.BREAKER_SLOW_CALLS_IN_FLIGHT && config.BREAKER_QUORUM > 1) {
      context.addIssue({
        code: 'custom',
        path: ['BREAKER_SLOW_CALLS_IN_FLIGHT'],
        message:
          'expected false with BREAKER_QUORUM above 1 (each replica judges calls when they end)',
      });
    }
    if (
      config.BREAKER_MAX_OPEN_MS !== undefined &&
      config.BREAKER_MAX_OPEN_MS < config.BREAKER_OPEN_MS
    ) {
      context.addIssue({
        code: 'custom',
        path: ['BREAKER_MAX_OPEN_MS'],
        message: `expected at least BREAKER_OPEN_MS (${config.BREAKER_OPEN_MS})`,
      });
    }
  });

export type PaymentsConfig = z.output<typeof paymentsConfigSchema>;
