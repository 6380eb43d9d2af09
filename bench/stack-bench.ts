import { runLoad, type LoadOptions, type OrderSample } from '@cb-lab/load-generator';
import { startStack, type Stack, type StackOptions } from '@cb-lab/testing';

/** The services an orders → payments → gateway benchmark needs: no Prometheus, no background load. */
export const BENCH_SERVICES = [
  'redis',
  'payment-gateway',
  'payment-gateway-secondary',
  'payments',
  'orders',
] as const satisfies StackOptions['services'];

export interface BenchStacks {
  withBreaker: Stack;
  withoutBreaker: Stack;
  down(): Promise<void>;
}

/**
 * Two copies of the compose stack, alike but for BREAKER_ENABLED, up at the
 * same time so the benchmark can take turns between them within one run.
 * They start one after the other: the first builds the images, the second
 * reuses them.
 */
export async function startBenchStacks(log: (line: string) => void): Promise<BenchStacks> {
  log('starting the stack with the shared breaker (builds the images on first use)…');
  const withBreaker = await startStack({ services: BENCH_SERVICES });
  try {
    log('starting the same stack with BREAKER_ENABLED=false…');
    const withoutBreaker = await startStack({
      services: BENCH_SERVICES,
      environment: { BREAKER_ENABLED: 'false' },
    });
    return {
      withBreaker,
      withoutBreaker,
      down: async () => {
        await Promise.all([withBreaker.down(), withoutBreaker.down()]);
      },
    };
  } catch (error) {
    await withBreaker.down();
    throw error;
  }
}

/** The version of the stack's Redis, for the machine line. */
export async function stackRedisVersion(stack: Stack): Promise<string | undefined> {
  const { output } = await stack.environment
    .getContainer('redis-1')
    .exec(['redis-server', '--version']);
  return /v=(\S+)/.exec(output)?.[1];
}

/** Runs a load and keeps every order's sample: a benchmark's runs are short, and it needs them all. */
export async function loadSamples(options: Omit<LoadOptions, 'onSample'>): Promise<OrderSample[]> {
  const samples: OrderSample[] = [];
  await runLoad({ ...options, onSample: (sample) => samples.push(sample) });
  return samples;
}
