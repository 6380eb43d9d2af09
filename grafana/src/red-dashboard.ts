import type { ClassicDashboard } from './classic';
import { promQuery, refId } from './datasource';
import { labDashboard, withSections } from './layout';
import { timeseriesPanel } from './panels';
import { histogramQuantile, PERCENTILES, rate } from './promql';
import { labelValuesVariable } from './variables';

export const RED_DASHBOARD_UID = 'services-red';

const HISTOGRAM = 'http_server_request_duration_seconds';

/**
 * The selected services' requests, without the probes: Prometheus scrapes /metrics and
 * Docker asks /readyz every 5 s on every replica, which would drown the real traffic.
 */
const REQUESTS = 'service=~"$service",route!~"/healthz|/readyz|/metrics"';

const count = (extra = '') => `${HISTOGRAM}_count{${REQUESTS}${extra}}`;
const bucket = `${HISTOGRAM}_bucket{${REQUESTS}}`;

/** Requests per second, summed by `by`. */
const requestRate = (by: string) => `sum by (${by}) (${rate(count())})`;

/**
 * The share of requests answered 5xx, by `by`. A route that never failed has no 5xx series
 * at all; `or 0 * …` gives it a 0 instead of leaving it out.
 */
const errorRatio = (by: string) =>
  `(sum by (${by}) (${rate(count(',status_code=~"5.."'))}) or 0 * ${requestRate(by)})` +
  ` / ${requestRate(by)}`;

const DURATION_UNIT = 's';

/** The selected services side by side. */
const overviewPanels = () => [
  timeseriesPanel({
    title: 'Requests per service',
    description:
      'Requests per second each service answers (health probes and scrapes left out). ' +
      'Orders and payments follow the load; the gateway gets less while the breaker is open.',
    targets: [promQuery('A', requestRate('service'), { legend: '{{service}}' })],
    unit: 'reqps',
    min: 0,
    width: 8,
    height: 8,
  }),
  timeseriesPanel({
    title: '5xx ratio per service',
    description:
      'The share of requests each service answered with a 5xx. The gateway fails first; ' +
      'payments follows with 503 circuit_open while its breaker is open.',
    targets: [promQuery('A', errorRatio('service'), { legend: '{{service}}' })],
    unit: 'percentunit',
    min: 0,
    max: 1,
    width: 8,
    height: 8,
  }),
  timeseriesPanel({
    title: 'Duration p95 per service',
    description:
      '95th percentile of the time each service takes to answer. A slow gateway makes ' +
      'payments and orders slow too, until the breaker opens and they answer at once.',
    targets: [
      promQuery('A', histogramQuantile(0.95, bucket, ['service']), { legend: '{{service}}' }),
    ],
    unit: DURATION_UNIT,
    min: 0,
    width: 8,
    height: 8,
  }),
];

/** One service (the row repeats per selected service): by route, then by replica. */
const servicePanels = () => [
  timeseriesPanel({
    title: 'Requests by route',
    description: 'Requests per second by method and route template.',
    targets: [promQuery('A', requestRate('method, route'), { legend: '{{method}} {{route}}' })],
    unit: 'reqps',
    min: 0,
    width: 8,
    height: 8,
  }),
  timeseriesPanel({
    title: '5xx ratio by route',
    description: 'The share of each route’s requests answered with a 5xx.',
    targets: [promQuery('A', errorRatio('method, route'), { legend: '{{method}} {{route}}' })],
    unit: 'percentunit',
    min: 0,
    max: 1,
    width: 8,
    height: 8,
  }),
  timeseriesPanel({
    title: 'Duration by route (p50, p95, p99)',
    description:
      'Percentiles of the time to answer, by route. A wide gap between p50 and p99 means a ' +
      'few requests wait much longer than most: timeouts, retries or a slow dependency.',
    targets: PERCENTILES.map(([quantile, name], index) =>
      promQuery(refId(index), histogramQuantile(quantile, bucket, ['method', 'route']), {
        legend: `{{method}} {{route}} ${name}`,
      }),
    ),
    unit: DURATION_UNIT,
    min: 0,
    width: 8,
    height: 8,
  }),
  timeseriesPanel({
    title: 'Requests by instance',
    description:
      'Requests per second on each replica. The payments replicas should share the load ' +
      'about evenly: orders rotates over all of them.',
    targets: [promQuery('A', requestRate('instance'), { legend: '{{instance}}' })],
    unit: 'reqps',
    min: 0,
    width: 8,
    height: 8,
  }),
  timeseriesPanel({
    title: '5xx ratio by instance',
    description:
      'The share of each replica’s requests answered with a 5xx. With a shared breaker all ' +
      'payments replicas rise and fall together; one replica alone points at that replica.',
    targets: [promQuery('A', errorRatio('instance'), { legend: '{{instance}}' })],
    unit: 'percentunit',
    min: 0,
    max: 1,
    width: 8,
    height: 8,
  }),
  timeseriesPanel({
    title: 'Duration p95 by instance',
    description: '95th percentile of the time each replica takes to answer.',
    targets: [
      promQuery('A', histogramQuantile(0.95, bucket, ['instance']), { legend: '{{instance}}' }),
    ],
    unit: DURATION_UNIT,
    min: 0,
    width: 8,
    height: 8,
  }),
];

/** Rate, errors and duration of every service's HTTP API, from the shared histogram. */
export function redDashboard(): ClassicDashboard {
  const dashboard = labDashboard(RED_DASHBOARD_UID, 'Services RED')
    .description(
      'Rate, errors (5xx) and duration of each service, from http_server_request_duration_seconds.',
    )
    .refresh('5s')
    .time({ from: 'now-15m', to: 'now' })
    .withVariable(
      labelValuesVariable({
        name: 'service',
        label: 'Service',
        description: 'The services to show, one row each.',
        metric: `${HISTOGRAM}_count`,
      }),
    );
  return withSections(dashboard, [
    { title: 'Selected services', panels: overviewPanels() },
    { title: '$service', repeat: 'service', panels: servicePanels() },
  ]).build();
}
