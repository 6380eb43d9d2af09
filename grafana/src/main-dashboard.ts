import { breakerPanels } from './breaker-panels';
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
    { title: 'Payment gateway', panels: gatewayPanels() },
    { title: 'Orders and payments', panels: ordersPanels() },
  ]).build();
}
