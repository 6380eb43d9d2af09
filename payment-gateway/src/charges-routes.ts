import {
  amountSchema,
  currencySchema,
  identifierSchema,
  idempotencyKeyOf,
  notFound,
  parseInput,
} from '@cb-lab/shared';
import { Router } from 'express';
import { z } from 'zod';
import type { ChargeProcessor } from './charges';
import type { GatewayMetrics } from './gateway-metrics';

const chargeBodySchema = z.object(
  {
    amount: amountSchema,
    currency: currencySchema,
    reference: identifierSchema('reference'),
  },
  { error: 'expected a JSON object with amount, currency and reference' },
);

export function chargesRouter(processor: ChargeProcessor, metrics: GatewayMetrics): Router {
  const router = Router();

  router.post('/charges', async (req, res) => {
    const body = parseInput(chargeBodySchema, req.body);
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
