import { Counter, type Registry } from 'prom-client';
import type { FallbackStrategy } from './config';

export function createFallbackCounter(
  registry: Registry,
  strategy: FallbackStrategy,
): Counter<'strategy'> {
  const counter = new Counter({
    name: 'payments_fallback_total',
    help: 'Payments answered by the fallback because the gateway breaker was open, by strategy.',
    labelNames: ['strategy'] as const,
    registers: [registry],
  });
  counter.labels(strategy).inc(0);
  return counter;
}
