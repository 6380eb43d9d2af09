import { chargeRequestSchema } from '@cb-lab/contracts';
import { idempotencyKeyOf, notFound, parseInput } from '@cb-lab/shared';
import { Router } from 'express';
import type { ChargeProcessor } from './charges';
import type { GatewayMetrics } from './gateway-metrics';

export function chargesRouter(processor: ChargeProcessor, metrics: GatewayMetrics): Router {
  const router = Router();

  router.post('/charges', async (req, res) => {
    const body = parseInput(chargeRequestSchema, req.body);
    const key = idempotencyKeyOf(req, { required: false });
    const { charge, replayed } = await processor.charge(body, key);
    metrics.chargesTotal.labels(replayed ? 'replayed' : charge.status).inc();
    // A decline is a business answer, not a failure: same 201, with the status in the body.
    res.status(201).set('Idempotent-Replayed', String(replayed)).json(charge);
  });

  router.get('/charges/:id', (req, res) => {
    const charge = processor.find(req.params.id);
    if (!charge) throw notFound(`Charge ${req.params.id}`);
    res.json(charge);
  });

  return router;
}
