import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/** Buckets for calls that take from a millisecond to the longest timeout in the lab. */
export const LATENCY_BUCKETS_SECONDS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** The one metrics registry of a process and the HTTP histogram every service exports. */
export interface ServiceMetrics {
  readonly registry: Registry;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status_code'>;
}

/**
 * Creates the process's registry: Node's default metrics plus the HTTP
 * histogram, every series labelled with `service` and `instance`.
 */
export function createMetrics({
  service,
  instance,
}: {
  service: string;
  instance: string;
}): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service, instance });
  collectDefaultMetrics({ register: registry });
  const httpRequestDuration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'Duration of inbound HTTP requests, by route template.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  return { registry, httpRequestDuration };
}

/** The label for requests that matched no route, so unknown paths cannot grow the label set. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * The route template a request matched (`/orders/:id`, never `/orders/42`),
 * read when the response finishes, after routing has run.
 */
export function routeTemplate(req: Parameters<RequestHandler>[0]): string {
  const route = (req as { route?: { path?: unknown } }).route;
  if (route === undefined || typeof route.path !== 'string') return UNMATCHED_ROUTE;
  return `${req.baseUrl}${route.path}`;
}

export const httpMetrics =
  (metrics: ServiceMetrics): RequestHandler =>
  (req, res, next) => {
    const stopTimer = metrics.httpRequestDuration.startTimer();
    res.once('finish', () => {
      stopTimer({
        method: req.method,
        route: routeTemplate(req),
        status_code: String(res.statusCode),
      });
    });
    next();
  };
