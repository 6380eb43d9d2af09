import { paymentRequestSchema } from '@cb-lab/contracts';
import { idempotencyKeyOf, notFound, parseInput } from '@cb-lab/shared';
import { Router } from 'express';
import type { PaymentService } from './payment-service';

export function paymentsRouter(service: PaymentService): Router {
  const router = Router();

  router.post('/payments', async (req, res) => {
    const body = parseInput(paymentRequestSchema, req.body);
    const key = idempotencyKeyOf(req, { required: true });
    const { payment, replayed } = await service.pay(body, key);
    // 202 while the payment waits in the queue for the gateway; 201 once it has its answer.
    const status = payment.status === 'pending' ? 202 : replayed ? 200 : 201;
    res.status(status).set('Idempotent-Replayed', String(replayed)).json(payment);
  });

  router.get('/payments/:id', async (req, res) => {
    const payment = await service.find(req.params.id);
    if (!payment) throw notFound(`Payment ${req.params.id}`);
    res.json(payment);
  });

  return router;
}
