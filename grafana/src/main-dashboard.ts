import type { AnnotationQuery } from '@grafana/grafana-foundation-sdk/dashboard';
import { breakerPanels } from './breaker-panels';
import { PROMETHEUS } from './datasource';
import { hiddenPanels } from './hidden-panels';
import type { ClassicDashboard } from './classic';
import { gatewayPanels } from './gateway-panels';
import { labDashboard, withSections } from './layout';
import { ordersPanels } from './orders-panels';
import { labelValuesVariable } from './variables';

/** The home dashboard; compose opens it through its file name, the uid keeps links stable. */
export const MAIN_DASHBOARD_UID = 'circuit-breaker-lab';

/** The breaker the payments replicas share (the only one the lab has). */
const DEFAULT_BREAKER = 'payment-gateway';

/** The lab's story on one page: the shared breaker, the gateway it shields, the orders. */
export function mainDashboard(): ClassicDashboard {
  const dashboard = labDashboard(MAIN_DASHBOARD_UID, 'Circuit breaker lab')
    .description(
      'Orders → payments (3 replicas, one breaker shared through Redis) → payment gateway.',
    )
    .refresh('5s')
    .time({ from: 'now-15m', to: 'now' })
    .annotation({ build: breakerTransitionAnnotation })
    .withVariable(
      labelValuesVariable({
        name: 'breaker',
        label: 'Breaker',
        description: 'The shared circuit breaker to show.',
        metric: 'circuit_breaker_state',
        initial: DEFAULT_BREAKER,
      }),
    );
  return withSections(dashboard, [
    { title: 'Shared circuit breaker ($breaker)', panels: breakerPanels() },
    { title: 'What a scrape hides ($breaker)', panels: hiddenPanels() },
    { title: 'Payment gateway', panels: gatewayPanels() },
    { title: 'Orders and payments', panels: ordersPanels() },
  ]).build();
}

/**
 * Each transition of the shared state as a mark on every time panel, from the transitions
 * counter: a half-open that lasts 200 ms never shows on a 5 s scrape of the state, but the
 * counters of open → half_open and half_open → closed moved. changes() over two scrape
 * intervals sees each move; Grafana joins the steps of one move into one mark.
 */
export const BREAKER_TRANSITIONS_ANNOTATION_EXPR =
  'max by (from, to) (changes(circuit_breaker_transitions_total{breaker="$breaker",scope="shared"}[10s])) > 0';

const breakerTransitionAnnotation = (): AnnotationQuery => ({
  name: 'Breaker transitions',
  datasource: PROMETHEUS,
  enable: true,
  iconColor: 'orange',
  expr: BREAKER_TRANSITIONS_ANNOTATION_EXPR,
  step: '5s',
  titleFormat: '{{from}} → {{to}}',
  textFormat: 'shared breaker $breaker',
  tagKeys: 'from,to',
  useValueForTime: false,
});
