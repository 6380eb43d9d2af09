import { circuitActionSchema, circuitIsolateSchema, type CircuitView } from '@cb-lab/contracts';
import { HttpError, parseInput, requireAdminToken } from '@cb-lab/shared';
import { Router, type RequestHandler } from 'express';
import { isBreakerDisabled, type GatewayBreaker } from './gateway-breaker';

/**
 * `GET /payments/circuit`: the breaker as this replica enforces it, its
 * local view, and the shared state read from Redis now. Admin calls isolate
 * (force open; `{"reason", "forMs"}`: until a reset, or that long) or reset
 * the breaker for the whole cluster.
 */
export function circuitRouter(breaker: GatewayBreaker, adminToken: string): Router {
  const router = Router();
  const describe = async (): Promise<CircuitView> => ({
    // A disabled breaker's snapshot says `enabled: false` itself.
    enabled: true,
    ...breaker.snapshot(),
    redis: await breaker.readShared().catch(() => null),
  });

  router.get('/payments/circuit', async (_req, res) => {
    res.json(await describe());
  });

  const change =
    (action: 'isolate' | 'reset'): RequestHandler =>
    async (req, res) => {
      // Validated before anything changes: a refused body leaves the breaker as it was.
      const isolation =
        action === 'isolate' ? parseInput(circuitIsolateSchema, req.body) : undefined;
      const reason =
        action === 'isolate'
          ? isolation?.reason
          : parseInput(circuitActionSchema, req.body)?.reason;
      try {
        if (action === 'isolate') await breaker.isolate(reason, isolation?.forMs);
        else await breaker.reset(reason);
      } catch (error) {
        if (isBreakerDisabled(error)) throw new HttpError(409, 'breaker_disabled', error.message);
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
