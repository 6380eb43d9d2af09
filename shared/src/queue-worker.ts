import type { Logger } from './logger';
import { PeriodicTask } from './periodic-task';
import { isRedisUnavailable } from './redis-errors';
import type { DurableWorkQueue } from './work-queue';

/** What one attempt at an item's work came to. */
export type WorkResult =
  /** Finished for good: the item leaves the queue. */
  | 'done'
  /** It waits on something else (a payment still queued, a request still under way): next round. */
  | 'not yet'
  /** What the work needs does not answer: the round ends, since the items behind would fail alike. */
  | 'unreachable';

export interface QueueWorkerOptions {
  queue: DurableWorkQueue;
  /** Names the work in logs, e.g. `queued payment`. */
  name: string;
  /** The log field that carries an item's id, e.g. `paymentId`. */
  idField: string;
  /** One attempt at one item. A throw is unexpected: counted, retried later, at last given up. */
  work: (id: string) => Promise<WorkResult>;
  /**
   * Finishes an item whose work threw `maxAttempts` times (e.g. marks it failed, with a reason);
   * the item then leaves the queue. If this throws too, the item stays and is tried again.
   */
  giveUp: (id: string, error: unknown) => Promise<void>;
  intervalMs: number;
  /** Budget of one item's work: no item starts unless two of them fit before the lock expires. */
  itemTimeoutMs: number;
  /** How many due items one round takes on. */
  batch: number;
  /** Unexpected failures an item may have before it is given up; 5 by default. */
  maxAttempts?: number;
  /** Retries wait `intervalMs` doubled after each failure, up to this; one minute by default. */
  maxBackoffMs?: number;
  /** Runs each round, e.g. under a request id of its own. */
  aroundRound?: <T>(round: () => Promise<T>) => Promise<T>;
  logger: Logger;
}

/**
 * The one loop every durable queue is worked through (payments' settler,
 * orders' reconciler): every `intervalMs` one replica takes the queue's
 * lock and works through the items that are due, oldest first. An item is
 * finished, left for the next round, or ends the round when what it needs
 * is away. An item whose work throws is poison until proven otherwise: the
 * error is logged, the item waits a growing backoff while the items behind
 * it go on, and after `maxAttempts` it is given up. Redis itself being away
 * ends the round, counting nothing against the item.
 */
export class QueueWorker {
  readonly #task: PeriodicTask<number>;
  readonly #maxAttempts: number;
  readonly #maxBackoffMs: number;

  constructor(private readonly options: QueueWorkerOptions) {
    this.#maxAttempts = options.maxAttempts ?? 5;
    this.#maxBackoffMs = options.maxBackoffMs ?? 60_000;
    const round = options.aroundRound ?? ((run) => run());
    this.#task = new PeriodicTask({
      intervalMs: options.intervalMs,
      run: () => round(() => this.#round()),
      onError: (error) => {
        options.logger.warn(`${options.name}s could not be worked on this round`, { error });
      },
    });
  }

  start(): void {
    this.#task.start();
  }

  /** Stops the loop and waits for a round in progress to finish. */
  stop(): Promise<void> {
    return this.#task.stop();
  }

  /** Runs one round now (or joins the one under way); resolves with how many items it finished. */
  runOnce(): Promise<number> {
    return this.#task.runOnce();
  }

  /** How long an item waits after its `attempts`-th failure. */
  backoffMs(attempts: number): number {
    return Math.min(this.#maxBackoffMs, this.options.intervalMs * 2 ** (attempts - 1));
  }

  async #round(): Promise<number> {
    const { queue, intervalMs, itemTimeoutMs, batch } = this.options;
    if ((await queue.size()) === 0) return 0;
    // Ten intervals to work in; nothing is started within two items' budget of the lock's
    // expiry, so another replica does not take the lock over while this one still works.
    const finished = await queue.whileLocked(
      intervalMs * 10 + itemTimeoutMs * 2,
      itemTimeoutMs * 2,
      async (startNothingAfter) => {
        let count = 0;
        for (const id of await queue.due(batch)) {
          if (Date.now() > startNothingAfter || this.#task.stopping) break;
          const result = await this.#attempt(id);
          if (result === 'unreachable') break;
          if (result === 'done') count += 1;
        }
        return count;
      },
    );
    return finished ?? 0;
  }

  async #attempt(id: string): Promise<WorkResult | 'failed'> {
    const { queue, work } = this.options;
    let result: WorkResult;
    try {
      result = await work(id);
    } catch (error) {
      // Every item would fail alike: the round ends (and is logged once), nothing is counted.
      if (isRedisUnavailable(error)) throw error;
      await this.#failed(id, error);
      return 'failed';
    }
    if (result === 'done') await queue.remove(id);
    // Due again at once, but behind everything due now: items that keep waiting never starve
    // the ones after them.
    if (result === 'not yet') await queue.postpone(id, Date.now());
    return result;
  }

  async #failed(id: string, error: unknown): Promise<void> {
    const { queue, giveUp, name, idField, logger } = this.options;
    const attempts = await queue.failedAttempt(id);
    if (attempts === 0) return; // Finished meanwhile by another worker whose lock outlived ours.
    if (attempts < this.#maxAttempts) {
      const retryInMs = this.backoffMs(attempts);
      await queue.postpone(id, Date.now() + retryInMs);
      logger.warn(`${name} failed unexpectedly; retrying later`, {
        [idField]: id,
        attempt: attempts,
        maxAttempts: this.#maxAttempts,
        retryInMs,
        error,
      });
      return;
    }
    try {
      await giveUp(id, error);
    } catch (giveUpError) {
      await queue.postpone(id, Date.now() + this.backoffMs(attempts));
      logger.error(`${name} could not be given up; trying again later`, {
        [idField]: id,
        error: giveUpError,
      });
      return;
    }
    await queue.remove(id);
    logger.error(`${name} given up after ${attempts} failed attempts`, {
      [idField]: id,
      attempts,
      error,
    });
  }
}
