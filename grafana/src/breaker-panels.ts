import { promQuery } from './datasource';
import { stateTimelinePanel, timeseriesPanel, type StateOption } from './panels';
import { increaseIncludingNew, rate } from './promql';

/** Every query here reads the breaker picked in the dashboard's `breaker` variable. */
const breaker = 'breaker="$breaker"';

/**
 * The breaker's states as the timeline draws them. `circuit_breaker_state` is one-hot (one
 * series per state, 1 for the current one), and a timeline colours one value per row, so
 * the state query folds the four series of a replica into one number.
 */
export const BREAKER_STATES: readonly StateOption[] = [
  { value: 0, text: 'closed', color: 'green' },
  { value: 1, text: 'open', color: 'red' },
  { value: 2, text: 'half_open', color: 'orange' },
  { value: 3, text: 'isolated', color: 'purple' },
];

/**
 * One series per replica whose value is the state's number above: each state's series
 * times its number, summed by instance. The `closed` series needs no term (its number is
 * 0); the sum still yields 0 for a closed replica, from its `open` series at 0. `or` keeps
 * every term since they differ by their `state` label.
 */
export const BREAKER_STATE_EXPR =
  'sum by (instance) (' +
  `circuit_breaker_state{${breaker},state="open"}` +
  ` or 2 * circuit_breaker_state{${breaker},state="half_open"}` +
  ` or 3 * circuit_breaker_state{${breaker},state="isolated"}` +
  ')';

/**
 * The cluster's transitions: those of the shared state in Redis (`scope="shared"`). Every
 * replica on Redis counts the same ones, and one that missed some (it was off Redis, or caught
 * up on several at once) counts fewer, never more, so the largest count of any replica is the
 * cluster's. What a replica went through alone (`scope="local"`) is left out: it is not a
 * transition of the cluster.
 */
const TRANSITIONS_EXPR = `max by (from, to) (${increaseIncludingNew(
  `circuit_breaker_transitions_total{${breaker},scope="shared"}`,
)})`;

/**
 * What each replica went through alone (`scope="local"`): its local breaker while Redis was
 * away, losing or re-joining Redis, catching up on several shared transitions at once. Per
 * replica, never added to the cluster's count.
 */
const LOCAL_TRANSITIONS_EXPR = `sum by (instance, from, to) (${increaseIncludingNew(
  `circuit_breaker_transitions_total{${breaker},scope="local"}`,
)})`;

/** Alerts pending (1) or firing (2), one row per alert name, from Prometheus's own ALERTS series. */
const ALERTS_EXPR =
  'max by (alertname) (2 * ALERTS{alertstate="firing"} or ALERTS{alertstate="pending"})';

/** The same colour for an outcome wherever it shows: rejected is the breaker at work, not an error. */
const OUTCOME_COLORS = {
  success: 'green',
  failure: 'red',
  rejected: 'orange',
  probe: 'blue',
};

/**
 * The shared breaker: its state on every replica, alerts, transitions (the cluster's and what
 * each replica went through alone), calls, store.
 */
export const breakerPanels = () => [
  stateTimelinePanel({
    title: 'Breaker state per payments replica',
    description:
      'One row per payments replica. Break the gateway and every row turns red together: the ' +
      'state lives in Redis, not in each replica. After the open period a single probe ' +
      'decides for all of them: green again if the gateway answered, red if not. Half-open ' +
      '(orange) lasts only as long as that probe, often too short to show between two ' +
      'scrapes; the transitions panel counts it. Purple is a breaker isolated by hand.',
    targets: [promQuery('A', BREAKER_STATE_EXPR, { legend: '{{instance}}' })],
    states: BREAKER_STATES,
    width: 16,
    height: 8,
  }),
  stateTimelinePanel({
    title: 'Alerts',
    description:
      'Prometheus alerts: CircuitBreakerOpenTooLong, CircuitBreakerFlapping, ' +
      'CircuitBreakerStoreDown, GatewayErrorRatioHigh, CircuitBreakerReplicasDisagree, ' +
      'CircuitBreakerStuckHalfOpen, CircuitBreakerReplicaBehind. Yellow while the condition holds but ' +
      'not yet long enough (pending), red once firing. Empty means no alert is pending or firing.',
    targets: [promQuery('A', ALERTS_EXPR, { legend: '{{alertname}}' })],
    states: [
      { value: 1, text: 'pending', color: 'yellow' },
      { value: 2, text: 'firing', color: 'red' },
    ],
    width: 8,
    height: 8,
  }),
  timeseriesPanel({
    title: 'Breaker transitions',
    description:
      'Transitions of the shared state in Redis, counted once for the cluster: each replica ' +
      'counts those it saw as they happened, and this shows the replica that saw most (one ' +
      'that was off Redis, or caught up on several at once, saw fewer). What a replica went ' +
      'through alone is not here but in the next panel. An outage reads closed → open, then ' +
      'open → half_open and half_open → open for each failed probe, and finally half_open → ' +
      'closed. Each bar counts the transitions of the few seconds before it (20 s at the ' +
      'default zoom). Many openings in a short time mean the breaker flaps: these are the ' +
      'openings CircuitBreakerFlapping counts.',
    targets: [promQuery('A', TRANSITIONS_EXPR, { legend: '{{from}} → {{to}}' })],
    unit: 'short',
    bars: true,
    decimals: 0,
    min: 0,
    width: 6,
    height: 8,
  }),
  timeseriesPanel({
    title: 'Transitions replicas went through alone',
    description:
      'Per replica, the changes of the state it enforces that were its own, not one ' +
      'transition of the shared state: its local breaker opening, probing and closing while ' +
      'Redis was away, the change when it loses Redis or joins the shared state (as it starts ' +
      'or when Redis is back), and catching up at once on shared transitions it missed. ' +
      "Never part of the cluster's count (previous panel) nor of CircuitBreakerFlapping. " +
      'Mostly zero while every replica stays on Redis; compare with the shared state store ' +
      'panel.',
    targets: [
      promQuery('A', LOCAL_TRANSITIONS_EXPR, { legend: '{{instance}} alone: {{from}} → {{to}}' }),
    ],
    unit: 'short',
    bars: true,
    decimals: 0,
    min: 0,
    width: 6,
    height: 8,
  }),
  timeseriesPanel({
    title: 'Calls through the breaker by outcome',
    description:
      'What the breaker did with each payment, across all replicas. While it is closed, ' +
      'success and failure; once open, rejected (answered by the fallback, the gateway is not ' +
      'called); probe is the single trial call of the half-open state.',
    targets: [
      promQuery('A', `sum by (outcome) (${rate(`circuit_breaker_calls_total{${breaker}}`)})`, {
        legend: '{{outcome}}',
      }),
    ],
    unit: 'ops',
    colors: OUTCOME_COLORS,
    min: 0,
    width: 6,
    height: 8,
  }),
  stateTimelinePanel({
    title: 'Shared state store per replica',
    description:
      'Whether each replica uses the breaker state in Redis (green) or, while Redis is slow ' +
      'or down, its own local breaker (orange). It re-joins the shared state on its own when ' +
      'Redis is back.',
    targets: [
      promQuery('A', `min by (instance) (circuit_breaker_store_up{${breaker}})`, {
        legend: '{{instance}}',
      }),
    ],
    states: [
      { value: 0, text: 'local fallback', color: 'orange' },
      { value: 1, text: 'redis', color: 'green' },
    ],
    width: 6,
    height: 8,
  }),
];
