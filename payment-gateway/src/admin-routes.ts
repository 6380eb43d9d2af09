import { parseInput } from '@cb-lab/shared';
import { Router } from 'express';
import { faultsPatchSchema, type FaultInjector } from './faults';

/**
 * The gateway's admin API, to be mounted behind the admin token guard. Every
 * route answers the faults active once it is done, every field filled:
 *
 * - `GET /faults` reads them;
 * - `PUT /faults` replaces them with the body (fields left out take their defaults);
 * - `PATCH /faults` changes only the fields the body names;
 * - `DELETE /faults` heals the gateway.
 */
export function adminRouter(injector: FaultInjector): Router {
  const router = Router();

  router.get('/faults', (_req, res) => {
    res.json(injector.current());
  });

  router.put('/faults', (req, res) => {
    res.json(injector.replace(parseInput(faultsPatchSchema, req.body)));
  });

  router.patch('/faults', (req, res) => {
    res.json(injector.merge(parseInput(faultsPatchSchema, req.body)));
  });

  router.delete('/faults', (_req, res) => {
    res.json(injector.heal());
  });

  return router;
}
