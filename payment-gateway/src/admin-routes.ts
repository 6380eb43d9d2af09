import { identifierSchema, type CallerList } from '@cb-lab/contracts';
import { parseInput } from '@cb-lab/shared';
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { ChargeProcessor } from './charges';
import { faultsPatchSchema, type FaultInjector } from './faults';
import type { ScenarioRunner } from './scenario-runner';
import { scenarioRouter } from './scenario-routes';

const chargesQuerySchema = z
  .object({ reference: identifierSchema('reference').optional() })
  .strict();

/**
 * The gateway's admin API, to be mounted behind the admin token guard. Every
 * fault route answers the faults active once it is done, every field filled:
 *
 * - `GET /faults` reads them;
 * - `PUT /faults` replaces them with the body (fields left out take their defaults);
 * - `PATCH /faults` changes only the fields the body names;
 * - `DELETE /faults` heals the gateway.
 *
 * `GET /callers` lists the callers heard from in the last minute (by their
 * `Caller-Replica` header) and whether the active faults reach each.
 *
 * `GET /charges` lists the charges the gateway made (`?reference=` for one
 * payment's), so anyone can count what was really charged per idempotency key.
 *
 * A change through these routes stops a running scenario first, so a person
 * taking over by hand is not overridden by the scenario's next step. The
 * scenario routes themselves are in {@link scenarioRouter}.
 */
export function adminRouter(
  injector: FaultInjector,
  scenarios: ScenarioRunner,
  processor: ChargeProcessor,
): Router {
  const router = Router();
  // Called once the body is known to be valid: a refused request changes nothing.
  const takeOver = (req: Request) => {
    scenarios.takeOver(`${req.method} ${req.baseUrl}/faults`);
  };

  router.get('/faults', (_req, res) => {
    res.json(injector.current());
  });

  router.put('/faults', (req, res) => {
    const faults = parseInput(faultsPatchSchema, req.body);
    takeOver(req);
    res.json(injector.replace(faults));
  });

  router.patch('/faults', (req, res) => {
    const patch = parseInput(faultsPatchSchema, req.body);
    takeOver(req);
    res.json(injector.merge(patch));
  });

  router.delete('/faults', (req, res) => {
    takeOver(req);
    res.json(injector.heal());
  });

  router.get('/callers', (_req, res) => {
    res.json({ callers: injector.reachedCallers() } satisfies CallerList);
  });

  router.get('/charges', (req, res) => {
    const { reference } = parseInput(chargesQuerySchema, req.query, 'query');
    const charges = processor.list(reference);
    res.json({ count: charges.length, charges });
  });

  router.use(scenarioRouter(scenarios));

  return router;
}
