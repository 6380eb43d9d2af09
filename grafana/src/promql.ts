/**
 * PromQL building blocks shared by the dashboards. Queries use no Grafana macro but
 * `$__rate_interval` (at least four scrape intervals, so a rate always has two samples),
 * which keeps every expression valid PromQL once the variables are substituted.
 */

/** The window of every rate: Grafana widens it with the zoom, never below 4 scrapes. */
export const RATE_WINDOW = '$__rate_interval';

/** Latency percentiles every latency panel shows, as [quantile, legend suffix]. */
export const PERCENTILES: readonly (readonly [number, string])[] = [
  [0.5, 'p50'],
  [0.95, 'p95'],
  [0.99, 'p99'],
];

/** Per-second rate of a counter selector over the rate window. */
export const rate = (selector: string): string => `rate(${selector}[${RATE_WINDOW}])`;

/**
 * A latency quantile from a histogram's `_bucket` selector, keeping the `by` labels
 * (`le` is added: histogram_quantile needs it).
 */
export function histogramQuantile(
  quantile: number,
  bucketSelector: string,
  by: readonly string[] = [],
): string {
  return `histogram_quantile(${quantile}, sum by (${['le', ...by].join(', ')}) (${rate(bucketSelector)}))`;
}

/**
 * How much a counter grew over the rate window, exactly, including the first count of a
 * series that did not exist at the start of the window.
 *
 * `increase()` extrapolates (a single transition reads 1.3) and never counts a series' first
 * sample. The breaker creates its transition series at 0, but a series that still appears
 * with its first count (a from/to pair it did not create) would go unseen. So:
 * the difference with the value one window ago (clamped at 0 across a process restart), or,
 * for a series newer than the window, its whole value.
 */
export function increaseIncludingNew(selector: string): string {
  return `clamp_min(${selector} - ${selector} offset ${RATE_WINDOW}, 0) or ${selector}`;
}
