import { loadRateRequestSchema, MAX_LOAD_RATE, type LoadStatus } from '@cb-lab/contracts';
import {
  adminTokenSchema,
  createServiceApp,
  env,
  parseInput,
  requireAdminToken,
  runService,
  serviceConfigShape,
  type AppContext,
} from '@cb-lab/shared';
import type { Express } from 'express';
import { Counter, Histogram } from 'prom-client';
import { z } from 'zod';
import { runLoad, type OrderSample } from './load';

export const loadGeneratorConfigSchema = z.object({
  ...serviceConfigShape,
  ORDERS_URL: env.url({ protocols: ['http:', 'https:'], default: 'http://localhost:8080' }),
  /** Orders per second; 0 starts it paused. */
  LOAD_RATE: env.number({ min: 0, max: MAX_LOAD_RATE, default: 2 }),
  ADMIN_TOKEN: adminTokenSchema,
});

export type LoadGeneratorConfig = z.output<typeof loadGeneratorConfigSchema>;

/**
 * Keeps a gentle stream of orders flowing so the dashboards are alive as soon
 * as the stack is up. `PUT /load {"ratePerSecond": N}` (admin token) changes
 * the rate without a restart; 0 pauses it.
 */
export class LoadGenerator {
  #rate: number;
  #current: AbortController | undefined;

  constructor(
    private readonly ordersUrl: string,
    rate: number,
    private readonly onSample: (sample: OrderSample) => void,
  ) {
    this.#rate = rate;
  }

  get ratePerSecond(): number {
    return this.#rate;
  }

  start(): void {
    this.#current?.abort();
    if (this.#rate === 0) return;
    const controller = new AbortController();
    this.#current = controller;
    void runLoad({
      ordersUrl: this.ordersUrl,
      ratePerSecond: this.#rate,
      durationMs: Infinity,
      maxInFlight: 50,
      requestTimeoutMs: 15_000,
      signal: controller.signal,
      onSample: this.onSample,
    });
  }

  setRate(rate: number): void {
    this.#rate = rate;
    this.start();
  }

  stop(): void {
    this.#current?.abort();
  }
}

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

if (require.main === module) {
  void runService({
    service: 'load-generator',
    configSchema: loadGeneratorConfigSchema,
    build: (context) => {
      const { app, generator } = createApp(context);
      generator.start();
      context.logger.info('sending orders', {
        ratePerSecond: generator.ratePerSecond,
        ordersUrl: context.config.ORDERS_URL,
      });
      context.onShutdown(async () => {
        generator.stop();
        await Promise.resolve();
      });
      return app;
    },
  });
}
