import express, { type Express, type RequestHandler } from 'express';
import { errorHandler, HttpError, notFoundHandler } from './http-errors';
import { Lifecycle } from './lifecycle';
import type { Logger } from './logger';
import { httpMetrics, routeTemplate, type ServiceMetrics } from './metrics';
import { checkReadiness, type ReadinessCheck } from './readiness';
import { requestContext } from './request-context';

export interface ServiceAppOptions {
  logger: Logger;
  metrics: ServiceMetrics;
  /** Largest JSON body accepted; larger ones get a 413. */
  bodyLimitBytes: number;
  /** Dependencies `/readyz` requires (Redis, for instance). */
  readiness?: readonly ReadinessCheck[];
  lifecycle?: Lifecycle;
  /** Mounts the service's own routes. */
  routes: (app: Express) => void;
}

/** Probes and scrapes arrive every few seconds: logging them at info would drown the story. */
const QUIET_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

const accessLog =
  (logger: Logger): RequestHandler =>
  (req, res, next) => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const level = QUIET_PATHS.has(req.path) ? 'debug' : res.statusCode >= 500 ? 'warn' : 'info';
      logger.log(level, 'request handled', {
        method: req.method,
        route: routeTemplate(req),
        status: res.statusCode,
        durationMs: Math.round(durationMs * 10) / 10,
      });
    });
    next();
  };

const closeWhenStopping =
  (lifecycle: Lifecycle): RequestHandler =>
  (_req, res, next) => {
    if (lifecycle.stopping) res.setHeader('Connection', 'close');
    next();
  };

/**
 * Builds a service's express app with everything the lab's services share:
 * request ids, access logs, the HTTP histogram, a size-limited JSON parser,
 * `/healthz`, `/readyz`, `/metrics`, a JSON 404 and the central error handler.
 */
export function createServiceApp({
  logger,
  metrics,
  bodyLimitBytes,
  readiness = [],
  lifecycle = new Lifecycle(),
  routes,
}: ServiceAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestContext(), httpMetrics(metrics), accessLog(logger), closeWhenStopping(lifecycle));
  app.use(express.json({ limit: bodyLimitBytes }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    if (lifecycle.stopping)
      throw new HttpError(503, 'shutting_down', 'The service is shutting down');
    const report = await checkReadiness(readiness);
    if (!report.ready) {
      const failed = Object.entries(report.checks).filter(([, outcome]) => outcome !== 'ok');
      throw new HttpError(
        503,
        'not_ready',
        failed.map(([name, why]) => `${name}: ${why}`).join('; '),
      );
    }
    res.json({ status: 'ready', checks: report.checks });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  routes(app);
  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return app;
}
