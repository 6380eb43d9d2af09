import { randomUUID } from 'node:crypto';
import type { Logger, RecordStore } from '@cb-lab/shared';
import type { GatewayRoute } from './gateway-route';
import { isFinal, type Payment } from './payment';
import type { PaymentQueue } from './payment-queue';

/** How many queued payments one round takes on. */
const BATCH = 25;

/**
 * Settles queued payments once the gateway answers again. Every replica runs
 * one; the queue's lock lets one of them work at a time. Each payment is
 * charged with its own id as the gateway's idempotency key and settled by a
 * script that never overwrites a final status, so a payment is charged and
 * settled exactly once even if a settler dies half-way and another retries.
 * Charges go through the breaker: while it is open a round stops at once,
 * and after the open period a queued payment may be the cluster's probe.
 */
export class QueueSettler {
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<number> | undefined;
  #stopped = false;

  constructor(
    private readonly options: {
      queue: PaymentQueue;
      store: RecordStore<Payment>;
      route: GatewayRoute;
      intervalMs: number;
      logger: Logger;
    },
  ) {}

  start(): void {
    this.#stopped = false;
    this.#schedule();
  }

  /** Stops the loop and waits for a round in progress to finish. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#round;
  }

  /** Runs one round now; resolves with how many payments it settled. */
  settleOnce(): Promise<number> {
    this.#round ??= this.#settle().finally(() => {
      this.#round = undefined;
    });
    return this.#round;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.settleOnce()
        .catch((error: unknown) => {
          this.options.logger.warn('queued payments could not be settled this round', { error });
        })
        .finally(() => {
          this.#schedule();
        });
    }, this.options.intervalMs).unref();
  }

  async #settle(): Promise<number> {
    const { queue, store, route, intervalMs, logger } = this.options;
    if ((await queue.size()) === 0) return 0;
    const token = randomUUID();
    if (!(await queue.tryLock(token, intervalMs * 10))) return 0;
    let settled = 0;
    try {
      for (const id of await queue.oldest(BATCH)) {
        const payment = await store.find(id);
        if (payment === undefined || isFinal(payment)) {
          await queue.remove(id);
          continue;
        }
        let charged: Payment;
        try {
          const charge = await route.charge(payment);
          charged = await store.settle({
            ...payment,
            status: charge.status,
            chargeId: charge.id,
            gateway: route.name,
            ...(charge.declineCode === undefined ? {} : { declineCode: charge.declineCode }),
            attempts: payment.attempts + 1,
            updatedAt: new Date().toISOString(),
          });
        } catch {
          break; // The gateway is still away (or the breaker still open): the rest waits for the next round.
        }
        await queue.remove(id);
        settled += 1;
        logger.info('queued payment settled', {
          paymentId: id,
          orderId: charged.orderId,
          status: charged.status,
        });
      }
    } finally {
      await queue.unlock(token);
    }
    return settled;
  }
}
