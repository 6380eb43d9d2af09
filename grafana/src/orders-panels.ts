import { promQuery, refId } from './datasource';
import { timeseriesPanel } from './panels';
import { histogramQuantile, PERCENTILES, rate } from './promql';

/** The latency histogram of placing an order, as the client sees it. */
const ORDERS_POST =
  'http_server_request_duration_seconds_bucket{service="orders",route="/orders",method="POST"}';

/** What the clients get: orders, their latency, fallbacks, and the spread over replicas. */
export const ordersPanels = () => [
  timeseriesPanel({
    title: 'Orders by final status',
    description:
      'Orders per second by the status their request ended with. During an outage paid ' +
      'gives way to payment_failed (reject fallback) or payment_pending (queue fallback); ' +
      'with the secondary fallback orders stay paid.',
    targets: [
      promQuery('A', `sum by (status) (${rate('orders_total')})`, { legend: '{{status}}' }),
    ],
    unit: 'ops',
    stacked: true,
    colors: { paid: 'green', payment_pending: 'yellow', payment_failed: 'red' },
    min: 0,
    width: 6,
    height: 8,
  }),
  timeseriesPanel({
    title: 'Order latency (POST /orders)',
    description:
      'Percentiles of the time to place an order. An open breaker keeps them low: payments ' +
      'answer at once instead of waiting for a broken gateway to time out.',
    targets: PERCENTILES.map(([quantile, name], index) =>
      promQuery(refId(index), histogramQuantile(quantile, ORDERS_POST), {
        legend: name,
      }),
    ),
    unit: 's',
    min: 0,
    width: 6,
    height: 8,
  }),
  timeseriesPanel({
    title: 'Fallbacks by strategy',
    description:
      'Payments answered by the fallback while the breaker refused the call: reject (fast ' +
      '503), queue (kept pending, charged later) or secondary (charged by the second gateway).',
    targets: [
      promQuery('A', `sum by (strategy) (${rate('payments_fallback_total')})`, {
        legend: '{{strategy}}',
      }),
    ],
    unit: 'ops',
    min: 0,
    width: 6,
    height: 8,
  }),
  timeseriesPanel({
    title: 'Payments served per replica',
    description:
      'POST /payments per second on each payments replica, by status code: orders spreads ' +
      'its calls over all of them, and all of them refuse together while the breaker is open.',
    targets: [
      promQuery(
        'A',
        `sum by (instance, status_code) (${rate(
          'http_server_request_duration_seconds_count{service="payments",route="/payments",method="POST"}',
        )})`,
        { legend: '{{instance}} {{status_code}}' },
      ),
    ],
    unit: 'reqps',
    min: 0,
    width: 6,
    height: 8,
  }),
];
