import {
  DurableWorkQueue,
  PeriodicTask,
  type Logger,
  type RecordStore,
  type RedisClient,
} from '@cb-lab/shared';
import type { GatewayRoute } from './gateway-route';
import { chargedPayment, isFinal, type Payment } from './payment';

/** How many queued payments one round takes on. */
const BATCH = 25;

/** Payments waiting for the gateway: queued while its breaker was open, or whose charge timed out. */
export const paymentQueue = (redis: RedisClient): DurableWorkQueue =>
  new DurableWorkQueue(redis, { items: '{payments}:queue', lock: '{payments}:queue:settler' });

/**
 * Settles queued payments once the gateway answers again, each through the
 * gateway it was waiting for (a charge that timed out is asked again where it
 * was sent, never elsewhere, so it cannot be made twice). Every replica runs
 * one; the queue's lock lets one of them work at a time. Each payment is
 * charged with its own id as the gateway's idempotency key and settled by a
 * script that never overwrites a final status, so a payment is charged and
 * settled exactly once even if a settler dies half-way and another retries.
 * Charges go through the breaker: while it is open a round stops at once,
 * and after the open period a queued payment may be the cluster's probe.
 */
export class QueueSettler {
  readonly #task: PeriodicTask<number>;

  constructor(
    private readonly options: {
      queue: DurableWorkQueue;
      store: RecordStore<Payment>;
      /** The primary gateway's route first: payments that name no gateway go there. */
      routes: readonly [GatewayRoute, ...GatewayRoute[]];
      intervalMs: number;
      /** Budget of one gateway call: the lock leaves room for the last one to finish. */
      callTimeoutMs: number;
      logger: Logger;
    },
  ) {
    this.#task = new PeriodicTask({
      intervalMs: options.intervalMs,
      run: () => this.#settle(),
      onError: (error) => {
        options.logger.warn('queued payments could not be settled this round', { error });
      },
    });
  }

  start(): void {
    this.#task.start();
  }

  stop(): Promise<void> {
    return this.#task.stop();
  }

  /** Runs one round now; resolves with how many payments it settled. */
  settleOnce(): Promise<number> {
    return this.#task.runOnce();
  }

  async #settle(): Promise<number> {
    const { queue, intervalMs, callTimeoutMs } = this.options;
    if ((await queue.size()) === 0) return 0;
    const settled = await queue.whileLocked(
      intervalMs * 10 + callTimeoutMs * 2,
      callTimeoutMs * 2,
      async (startNothingAfter) => {
        let count = 0;
        for (const id of await queue.oldest(BATCH)) {
          if (Date.now() > startNothingAfter || this.#task.stopping) break;
          const outcome = await this.#settleOne(id);
          if (outcome === 'gateway away') break; // The rest waits for the next round.
          if (outcome === 'settled') count += 1;
        }
        return count;
      },
    );
    return settled ?? 0;
  }

  async #settleOne(id: string): Promise<'settled' | 'nothing to do' | 'gateway away'> {
    const { queue, store, routes, logger } = this.options;
    const payment = await store.find(id);
    if (payment === undefined || isFinal(payment)) {
      await queue.remove(id);
      return 'nothing to do';
    }
    const route = routes.find((r) => r.name === payment.gateway) ?? routes[0];
    let charged: Payment;
    try {
      charged = await store.settle(
        chargedPayment(payment, route.name, await route.charge(payment)),
      );
    } catch {
      return 'gateway away';
    }
    await queue.remove(id);
    logger.info('queued payment settled', {
      paymentId: id,
      orderId: charged.orderId,
      status: charged.status,
    });
    return 'settled';
  }
}
