import { Counter, Gauge, type Registry } from 'prom-client';
import { activeFaults, FAULT_KINDS, type Faults } from './faults';

/** `replayed` counts requests answered from an idempotency key without a new charge. */
export type ChargeOutcome = 'approved' | 'declined' | 'replayed';

/**
 * Charge requests an injected fault stopped before the business logic:
 * answered with an error status, held without an answer, or cut off.
 */
export type FaultOutcome = 'faulted' | 'timed_out' | 'dropped';

export interface GatewayMetrics {
  chargesTotal: Counter<'outcome'>;
  faultActive: Gauge<'fault'>;
  /**
   * 1 for the step a scenario is running, 0 for the steps it ran before;
   * no series at all while no scenario runs.
   */
  scenarioStep: Gauge<'scenario' | 'step'>;
  /** Sets `gateway_fault_active` to what `faults` injects. */
  showFaults(faults: Readonly<Faults>): void;
}

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  const chargesTotal = new Counter({
    name: 'gateway_charges_total',
    help:
      'Charge requests that reached the gateway, by outcome: approved, declined and replayed ' +
      'reached the business logic; faulted, timed_out and dropped were stopped by an injected fault.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const outcomes = [
    'approved',
    'declined',
    'replayed',
    'faulted',
    'timed_out',
    'dropped',
  ] satisfies (ChargeOutcome | FaultOutcome)[];
  for (const outcome of outcomes) chargesTotal.labels(outcome).inc(0);

  const faultActive = new Gauge({
    name: 'gateway_fault_active',
    help: 'Whether each kind of injected fault is active (1) or not (0).',
    labelNames: ['fault'] as const,
    registers: [registry],
  });
  // Every series exists from the start, so a dashboard shows 0 rather than "no data".
  for (const fault of FAULT_KINDS) faultActive.labels(fault).set(0);

  // Labels are scenario and step names, which are preset names or short names a user
  // chose (checked when posted), and the runner resets it when a scenario ends.
  const scenarioStep = new Gauge({
    name: 'gateway_scenario_step',
    help: 'The step of the running fault scenario (1); steps it already ran are 0.',
    labelNames: ['scenario', 'step'] as const,
    registers: [registry],
  });

  return {
    chargesTotal,
    faultActive,
    scenarioStep,
    showFaults(faults) {
      const active = activeFaults(faults);
      for (const fault of FAULT_KINDS) faultActive.labels(fault).set(active[fault] ? 1 : 0);
    },
  };
}
