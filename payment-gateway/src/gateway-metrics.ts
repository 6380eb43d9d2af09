import { Counter, type Registry } from 'prom-client';

/** `replayed` counts requests answered from an idempotency key without a new charge. */
export type ChargeOutcome = 'approved' | 'declined' | 'replayed';

export interface GatewayMetrics {
  chargesTotal: Counter<'outcome'>;
}

export function createGatewayMetrics(registry: Registry): GatewayMetrics {
  const chargesTotal = new Counter({
    name: 'gateway_charges_total',
    help: 'Charge requests that reached the gateway, by outcome.',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  for (const outcome of ['approved', 'declined', 'replayed'] satisfies ChargeOutcome[]) {
    chargesTotal.labels(outcome).inc(0);
  }
  return { chargesTotal };
}
