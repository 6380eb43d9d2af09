/**
 * The load generator: a service of the compose stack that keeps orders
 * flowing, and the engine it runs on, which the lab command line and the
 * benchmarks drive too (orders at a steady rate, and their latency figures).
 */
export { createApp } from './app';
export { loadGeneratorConfigSchema, type LoadGeneratorConfig } from './config';
export { LoadGenerator } from './load-generator';
export {
  placeOrder,
  runLoad,
  type LoadOptions,
  type LoadResult,
  type OrderOutcome,
  type OrderSample,
} from './load';
export { LatencyHistogram } from './latency-histogram';
export { OutcomeTally } from './outcome-tally';
export { RecentLatencies } from './recent-latencies';
export { formatMs, quantile, summarize, type LatencySummary } from './stats';
