import {
  HttpError,
  parseInput,
  requireAdminToken,
  type SharedCircuitBreaker,
} from '@cb-lab/shared';
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
export function circuitRouter(breaker: SharedCircuitBreaker, adminToken: string): Router {
  const router = Router();

  router.get('/payments/circuit', async (_req, res) => {
    const redis = await breaker.readShared().catch(() => null);
    res.json({ ...breaker.snapshot(), redis });
  });

  const change =
    (action: 'isolate' | 'reset'): RequestHandler =>
    async (req, res) => {
      const reason = parseInput(adminBodySchema, req.body)?.reason;
      try {
        if (action === 'isolate') await breaker.isolate(reason ?? 'isolated through the admin API');
        else await breaker.reset(reason ?? 'reset through the admin API');
      } catch {
        throw new HttpError(
          503,
          'store_unavailable',
          'Redis cannot be reached; the cluster-wide state cannot change now',
        );
      }
      res.json({ ...breaker.snapshot(), redis: await breaker.readShared().catch(() => null) });
    };

  const guard = requireAdminToken(adminToken);
  router.post('/payments/circuit/isolate', guard, change('isolate'));
  router.post('/payments/circuit/reset', guard, change('reset'));
  return router;
}
