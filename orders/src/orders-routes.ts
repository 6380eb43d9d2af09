import { orderRequestSchema, type Order } from '@cb-lab/contracts';
import { idempotencyKeyOf, notFound, parseInput } from '@cb-lab/shared';
import { Router } from 'express';
import type { OrderService } from './order-service';

/** 201 once the order has its final answer; 202 while its payment is still to settle. */
const statusCodeFor = (order: Order): number =>
  order.status === 'processing' || order.status === 'payment_pending' ? 202 : 201;

export function ordersRouter(service: OrderService): Router {
  const router = Router();

  router.post('/orders', async (req, res) => {
    const body = parseInput(orderRequestSchema, req.body);
    const key = idempotencyKeyOf(req, { required: false });
    const { order, replayed } = await service.place(body, key);
    res
      .status(replayed ? 200 : statusCodeFor(order))
      .set('Idempotent-Replayed', String(replayed))
      .location(`/orders/${order.id}`)
      .json(order);
  });

  router.get('/orders/:id', async (req, res) => {
    const order = await service.find(req.params.id);
    if (!order) throw notFound(`Order ${req.params.id}`);
    res.json(order);
  });

  return router;
}
