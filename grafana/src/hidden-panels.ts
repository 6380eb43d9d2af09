import { promQuery } from './datasource';
import { timeseriesPanel } from './panels';
import { histogramQuantile } from './promql';

/** Every query here reads the breaker picked in the dashboard's `breaker` variable. */
const breaker = 'breaker="$breaker"';

/**
 * What a 5 s scrape cannot show by itself: who holds the probe lease and for how long, how far
 * each replica is from the shared state in Redis, the store's round trips, and an isolation's
 * end and reason. (The transitions themselves, however short, are drawn as annotations.)
 */
export const hiddenPanels = () => [
  timeseriesPanel({
    title: 'Probe lease: holder and time left',
    description:
      'While the breaker is half-open, one replica holds the lease of the single probe: this ' +
      'shows which one (the legend) and how long its lease has left, as the replicas know it. ' +
      'A probe usually ends in milliseconds, so a lease is rarely caught by a scrape; one that ' +
      'stays up for long is a hung probe (CircuitBreakerStuckHalfOpen). "none": no lease is held.',
    targets: [
      promQuery(
        'A',
        `max by (holder) (clamp_min(circuit_breaker_probe_lease_expiry_seconds{${breaker}} - time(), 0))`,
        { legend: '{{holder}}' },
      ),
    ],
    unit: 's',
    min: 0,
    width: 6,
    height: 8,
  }),
  timeseriesPanel({
    title: 'Replica distance from Redis',
    description:
      'Per payments replica: seconds since Redis last answered it (a read every 5 s keeps it ' +
      'low), and the transitions its last periodic read found that its pub/sub subscription ' +
      'had not delivered (0 while messages arrive). A replica that keeps catching up by ' +
      'reading enforces each state up to one sync interval late: CircuitBreakerReplicaBehind.',
    targets: [
      promQuery('A', `max by (instance) (circuit_breaker_store_sync_age_seconds{${breaker}})`, {
        legend: '{{instance}}: seconds since Redis answered',
      }),
      promQuery('B', `max by (instance) (circuit_breaker_view_epochs_behind{${breaker}})`, {
        legend: '{{instance}}: transitions caught late',
      }),
    ],
    unit: 'short',
    min: 0,
    width: 6,
    height: 8,
  }),
  timeseriesPanel({
    title: 'Breaker store round trip (p99)',
    description:
      'The slowest 1 % of the round trips of the breaker’s Redis operations (reads, outcome ' +
      'writes, probe leases), per replica. A call waits on Redis only to take the probe lease; ' +
      'an operation past BREAKER_STORE_TIMEOUT_MS (100 ms) sends the replica to its local ' +
      'breaker.',
    targets: [
      promQuery(
        'A',
        histogramQuantile(0.99, `circuit_breaker_store_round_trip_seconds_bucket{${breaker}}`, [
          'instance',
        ]),
        { legend: '{{instance}}' },
      ),
    ],
    unit: 's',
    min: 0,
    width: 6,
    height: 8,
  }),
  timeseriesPanel({
    title: 'Isolation: time left and reason',
    description:
      'While an operator isolates the breaker (`npm run lab -- breaker isolate --for 5m ' +
      '--reason "…"`): the time left before it closes by itself, named by the reason given; ' +
      'infinite for an isolation until a reset. 0 while the breaker is not isolated.',
    targets: [
      promQuery(
        'A',
        `max by (reason) (clamp_min(circuit_breaker_isolated_until_seconds{${breaker}} - time(), 0))`,
        { legend: '{{reason}}' },
      ),
    ],
    unit: 's',
    min: 0,
    width: 6,
    height: 8,
  }),
];
