import { type Logger, type ServiceMetrics } from '@cb-lab/shared';
import { SharedCircuitBreaker, type RedisBreakerStore } from '@cb-lab/shared-breaker';
import { instrumentBreaker } from '@cb-lab/shared-breaker/prometheus';
import {
  ConstantBackoff,
  handleWhen,
  retry,
  timeout,
  TimeoutStrategy,
  wrap,
  type IPolicy,
} from 'cockatiel';
import type { PaymentsConfig } from './config';
import { GatewayClient, type GatewayCharge } from './gateway-client';
import { DisabledBreaker, type GatewayBreaker } from './gateway-breaker';
import { countsAsGatewayFailure, neverReachedGateway } from './gateway-failures';
import type { Payment } from './payment';

/**
 * One gateway behind its own breaker: retry (only where safe) outside the
 * breaker so each attempt counts, the breaker, then a timeout on every
 * attempt so a silent gateway is a failure, not a hang. With the breaker
 * switched off, a {@link DisabledBreaker} takes its place in the same policy.
 */
export class GatewayRoute {
  readonly #policy: IPolicy;

  constructor(
    readonly name: string,
    readonly breaker: GatewayBreaker,
    private readonly client: GatewayClient,
    timeoutMs: number,
  ) {
    const retryIfSafe = retry(handleWhen(neverReachedGateway), {
      maxAttempts: 1,
      backoff: new ConstantBackoff(50),
    });
    const attemptTimeout = timeout(timeoutMs, TimeoutStrategy.Aggressive);
    this.#policy = wrap(retryIfSafe, breaker, attemptTimeout);
  }

  /** Charges `payment`, its id as the gateway's idempotency key. Throws BrokenCircuitError while open. */
  charge(payment: Payment): Promise<GatewayCharge> {
    return this.#policy.execute(({ signal }) =>
      this.client.charge(
        { amount: payment.amount, currency: payment.currency, reference: payment.id },
        signal,
      ),
    );
  }
}

export interface GatewayRouteOptions {
  name: string;
  url: string;
  config: PaymentsConfig;
  store: RedisBreakerStore;
  logger: Logger;
  metrics: ServiceMetrics;
}

/** Builds the route, exports its breaker's metrics, logs its transitions, and joins the shared state. */
export async function startGatewayRoute({
  name,
  url,
  config,
  store,
  logger,
  metrics,
}: GatewayRouteOptions): Promise<GatewayRoute> {
  const breaker = new SharedCircuitBreaker(store, {
    // A breaker of this replica alone: its own name, so no other replica reads or writes it.
    name: config.BREAKER_SCOPE === 'replica' ? `${name}.${config.INSTANCE}` : name,
    replica: config.INSTANCE,
    trip:
      config.BREAKER_MODE === 'consecutive'
        ? { mode: 'consecutive', threshold: config.BREAKER_FAILURE_THRESHOLD }
        : {
            mode: 'rate',
            threshold: config.BREAKER_FAILURE_RATE,
            minCalls: config.BREAKER_MIN_CALLS,
            windowMs: config.BREAKER_WINDOW_MS,
          },
    openMs: config.BREAKER_OPEN_MS,
    maxOpenMs: config.BREAKER_MAX_OPEN_MS ?? config.BREAKER_OPEN_MS,
    ...(config.BREAKER_SLOW_CALL_MS === undefined
      ? {}
      : {
          slowCallMs: config.BREAKER_SLOW_CALL_MS,
          slowCallsInFlight: config.BREAKER_SLOW_CALLS_IN_FLIGHT,
        }),
    isFailure: countsAsGatewayFailure,
    // The lease outlives the longest probe (timeout plus one retry), so only a crashed prober loses it.
    probeLeaseMs: 2 * config.GATEWAY_TIMEOUT_MS + 1_000,
    whenStoreDown: config.BREAKER_WHEN_STORE_DOWN,
    quorum: config.BREAKER_QUORUM,
    ...(config.BREAKER_QUORUM_WINDOW_MS === undefined
      ? {}
      : { quorumWindowMs: config.BREAKER_QUORUM_WINDOW_MS }),
  });
  const client = new GatewayClient({
    baseURL: url,
    timeoutMs: config.GATEWAY_TIMEOUT_MS,
    logger,
    caller: config.INSTANCE,
  });
  if (!config.BREAKER_ENABLED) {
    // Not started: it neither reads nor writes the shared state, and exports no breaker series.
    logger.warn('circuit breaker disabled (BREAKER_ENABLED=false): gateway calls only time out', {
      breaker: breaker.name,
    });
    return new GatewayRoute(name, new DisabledBreaker(breaker), client, config.GATEWAY_TIMEOUT_MS);
  }
  instrumentBreaker(breaker, metrics.registry);
  breaker.onTransition(({ from, to, reason, scope, note }) => {
    logger.info('circuit breaker transition', {
      breaker: breaker.name,
      from,
      to,
      reason,
      scope,
      note,
    });
  });
  breaker.onStoreChange(({ up, error }) => {
    if (up)
      logger.info('circuit breaker re-joined the shared state in Redis', { breaker: breaker.name });
    else
      logger.warn('circuit breaker lost Redis; deciding locally', {
        breaker: breaker.name,
        mode: config.BREAKER_WHEN_STORE_DOWN,
        error,
      });
  });
  await breaker.start();
  return new GatewayRoute(name, breaker, client, config.GATEWAY_TIMEOUT_MS);
}
