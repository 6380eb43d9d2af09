import { promQuery } from './datasource';
import { stateTimelinePanel, timeseriesPanel } from './panels';
import { rate } from './promql';

/** The gateway: what reaches it, and what is broken in it. */
export const gatewayPanels = () => [
  timeseriesPanel({
    title: 'Charges reaching the gateway',
    description:
      'Requests that actually arrived at each gateway instance, by outcome: the primary (the ' +
      'one with traffic while the breaker is closed) and the secondary of the `secondary` ' +
      'fallback. While the breaker is open the primary sees almost nothing: one probe per ' +
      'open period. faulted, timed_out and dropped are the faults injected into it.',
    targets: [
      promQuery(
        'A',
        `sum by (instance, outcome) (${rate('gateway_charges_total{service="payment-gateway"}')})`,
        { legend: '{{instance}} {{outcome}}' },
      ),
    ],
    unit: 'ops',
    min: 0,
    width: 12,
    height: 9,
  }),
  stateTimelinePanel({
    title: 'Gateway faults and scenario',
    description:
      'The faults injected into each gateway instance through its admin API (red while ' +
      'active) and, while a timed scenario runs, its current step (blue). Compare with the ' +
      'breaker state: the breaker should open shortly after a fault starts and close after ' +
      'it ends.',
    targets: [
      promQuery('A', 'max by (instance, fault) (gateway_fault_active)', {
        legend: '{{instance}} {{fault}}',
      }),
      promQuery('B', 'max by (instance, scenario, step) (gateway_scenario_step) == 1', {
        legend: '{{instance}} {{scenario}}: {{step}}',
      }),
    ],
    states: [
      { value: 0, text: 'off', color: 'green' },
      { value: 1, text: 'active', color: 'red' },
    ],
    statesByQuery: { B: [{ value: 1, text: 'running', color: 'blue' }] },
    width: 12,
    height: 9,
  }),
];
