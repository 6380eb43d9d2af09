/**
 * Prometheus metrics for the shared breaker: `@cb-lab/shared-breaker/prometheus`.
 * A separate entry point so that prom-client stays an optional peer.
 */
export { instrumentBreaker } from './breaker-metrics';
