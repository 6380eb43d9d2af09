import { Counter, Gauge, type Registry } from 'prom-client';
import { activeFaults, FAULT_KINDS, HEALTHY, type Faults, type FaultScope } from './faults';

/** How `gateway_fault_active{scope}` names the callers the faults reach. */
export const scopeLabel = (scope: FaultScope | null): 'all' | 'replicas' | 'share' =>
  scope === null ? 'all' : 'replicas' in scope ? 'replicas' : 'share';

/** `replayed` counts requests answered from an idempotency key without a new charge. */
export type ChargeOutcome = 'approved' | 'declined' | 'replayed';

/**
 * Charge requests an injected fault stopped before the business logic:
 * answered with an error status, held without an answer, or cut off.
 */
export type FaultOutcome = 'faulted' | 'timed_out' | 'dropped';

export interface GatewayMetrics {
  chargesTotal: Counter<'outcome'>;
  faultActive: Gauge<'fault' | 'scope'>;
  /**
   * 1 for the step a scenario is running, 0 for the steps it ran before;
   * no series at all while no scenario runs.
   */
  scenarioStep: Gauge<'scenario' | 'step'>;
  /** Sets `gateway_fault_active` to what `faults` injects, and to whom. */
  showFaults(faults: Readonly<Faults>): void;
}

/**
 * The gateway's metrics in `registry`. `reachedCallers` answers, at each
 * scrape, the callers heard lately and whether the active faults reach each,
 * for `gateway_fault_caller_reached`.
 */
export function createGatewayMetrics(
  registry: Registry,
  reachedCallers: () => readonly { replica: string; reached: boolean }[] = () => [],
): GatewayMetrics {
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
    help:
      'Whether each kind of injected fault is active (1) or not (0); scope is all (every caller), ' +
      'replicas (named callers) or share (a share of the callers).',
    labelNames: ['fault', 'scope'] as const,
    registers: [registry],
  });
  const showFaults = (faults: Readonly<Faults>) => {
    const active = activeFaults(faults);
    const scope = scopeLabel(faults.scope);
    // One series per fault: the scope's old series would otherwise stay at its last value.
    faultActive.reset();
    for (const fault of FAULT_KINDS) faultActive.labels(fault, scope).set(active[fault] ? 1 : 0);
  };
  // Every series exists from the start, so a dashboard shows 0 rather than "no data".
  showFaults(HEALTHY);

  // Callers come from a header checked against the replica-id pattern, and are
  // forgotten a minute after their last request, so the series stay few.
  new Gauge({
    name: 'gateway_fault_caller_reached',
    help: 'For each caller heard in the last minute: 1 when the active faults reach its requests.',
    labelNames: ['caller'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { replica, reached } of reachedCallers())
        this.labels(replica).set(reached ? 1 : 0);
    },
  });

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
    showFaults,
  };
}
