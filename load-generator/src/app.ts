import { loadRateRequestSchema, type LoadStatus } from '@cb-lab/contracts';
import { createServiceApp, parseInput, requireAdminToken, type AppContext } from '@cb-lab/shared';
import type { Express } from 'express';
import { Counter, Histogram } from 'prom-client';
import type { LoadGeneratorConfig } from './config';
import { LoadGenerator } from './load-generator';

export function createApp({
  config,
  logger,
  metrics,
  lifecycle,
}: AppContext<LoadGeneratorConfig>): { app: Express; generator: LoadGenerator } {
  const orders = new Counter({
    name: 'load_generator_orders_total',
    help: 'Orders sent by the load generator, by how they ended.',
    labelNames: ['outcome'] as const,
    registers: [metrics.registry],
  });
  const latency = new Histogram({
    name: 'load_generator_order_duration_seconds',
    help: 'Latency of the orders the load generator sent, as its client saw it.',
    labelNames: ['outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [metrics.registry],
  });
  const generator = new LoadGenerator(config.ORDERS_URL, config.LOAD_RATE, (sample) => {
    orders.labels(sample.outcome).inc();
    latency.labels(sample.outcome).observe(sample.latencyMs / 1_000);
  });
  const app = createServiceApp({
    logger,
    metrics,
    ...(lifecycle ? { lifecycle } : {}),
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    routes: (server) => {
      const status = (): LoadStatus => ({
        ratePerSecond: generator.ratePerSecond,
        ordersUrl: config.ORDERS_URL,
      });
      server.get('/load', (_req, res) => {
        res.json(status());
      });
      server.put('/load', requireAdminToken(config.ADMIN_TOKEN), (req, res) => {
        const { ratePerSecond } = parseInput(loadRateRequestSchema, req.body);
        logger.info('load rate changed', { from: generator.ratePerSecond, to: ratePerSecond });
        generator.setRate(ratePerSecond);
        res.json(status());
      });
    },
  });
  return { app, generator };
}
