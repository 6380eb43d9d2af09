import { HttpError, parseInput, requireAdminToken } from '@cb-lab/shared';
import { type SharedCircuitBreaker } from '@cb-lab/shared-breaker';
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';

const adminBodySchema = z
  .object({
    reason: z
      .string({ error: 'expected the reason as a string' })
      .min(1, 'expected a non-empty reason')
      .max(200, 'expected at most 200 characters')
      .optional(),
  })
  .strict()
  .optional();

/**
 * `GET /payments/circuit`: the breaker as this replica enforces it, its
 * local view, and the shared state read from Redis now. Admin calls isolate
 * (force open) or reset the breaker for the whole cluster.
 */
export function circuitRouter(
  breaker: SharedCircuitBreaker,
  adminToken: string,
  { enabled = true }: { enabled?: boolean } = {},
): Router {
  const router = Router();
  const describe = async () => ({
    enabled,
    ...breaker.snapshot(),
    // A disabled breaker takes no part in the shared state.
    redis: enabled ? await breaker.readShared().catch(() => null) : null,
  });

  router.get('/payments/circuit', async (_req, res) => {
    res.json(await describe());
  });

  const change =
    (action: 'isolate' | 'reset'): RequestHandler =>
    async (req, res) => {
      const reason = parseInput(adminBodySchema, req.body)?.reason;
      if (!enabled)
        throw new HttpError(
          409,
          'breaker_disabled',
          'this replica runs without its circuit breaker (BREAKER_ENABLED=false)',
        );
      try {
        if (action === 'isolate') await breaker.isolate(reason);
        else await breaker.reset(reason);
      } catch {
        throw new HttpError(
          503,
          'store_unavailable',
          'Redis cannot be reached; the cluster-wide state cannot change now',
        );
      }
      res.json(await describe());
    };

  const guard = requireAdminToken(adminToken);
  router.post('/payments/circuit/isolate', guard, change('isolate'));
  router.post('/payments/circuit/reset', guard, change('reset'));
  return router;
}
