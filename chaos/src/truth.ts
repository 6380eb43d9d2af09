import {
  isStale,
  parseStateMessage,
  RECONNECT_MAX_MS,
  type BreakerKeys,
  type RedisBreakerStore,
  type SharedBreakerState,
  type StateMessage,
} from '@cb-lab/shared-breaker';
import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TruthPoint } from './trace';

/**
 * Follows what Redis holds for one breaker, as an outside observer: every
 * message on its channel, and a fresh read after each change that was not
 * announced (Redis restarted, or rewound in place). Between such a change
 * and that read, the truth is `unknown` and nothing is checked against it.
 * States are kept in the order Redis wrote them: a message older than the
 * last state known (or the same write) is one that was overtaken, and is
 * dropped.
 */
export class TruthRecorder {
  readonly points: TruthPoint[] = [];
  #latest: SharedBreakerState | undefined;
  #accepting = false;
  #subscribed = false;
  /** Redis time minus the run's clock, from the last read. */
  #redisOffsetMs = 0;
  readonly #subscriber: Redis;

  private constructor(
    url: string,
    private readonly keys: BreakerKeys,
    private readonly store: RedisBreakerStore,
    private readonly now: () => number,
  ) {
    this.#subscriber = new Redis(url, {
      maxRetriesPerRequest: null,
      retryStrategy: () => 20,
    });
    this.#subscriber.on('error', () => undefined);
    this.#subscriber.on('ready', () => {
      void this.#subscriber.subscribe(keys.channel).then(
        () => (this.#subscribed = true),
        () => undefined,
      );
    });
    this.#subscriber.on('close', () => {
      this.#subscribed = false;
      this.forget();
    });
    this.#subscriber.on('message', (_channel: string, payload: string) => {
      this.#onMessage(parseStateMessage(payload));
    });
  }

  static async start(
    url: string,
    keys: BreakerKeys,
    store: RedisBreakerStore,
    now: () => number,
  ): Promise<TruthRecorder> {
    const recorder = new TruthRecorder(url, keys, store, now);
    await recorder.rebase();
    return recorder;
  }

  /** The last state Redis is known to hold. */
  get latest(): SharedBreakerState | undefined {
    return this.#accepting ? this.#latest : undefined;
  }

  /** Redis is about to change without telling: the truth is unknown until {@link rebase}. */
  forget(): void {
    if (!this.#accepting) return;
    this.#accepting = false;
    this.points.push({
      at: this.now(),
      state: 'unknown',
      announced: false,
      epoch: 0,
      incarnation: 0,
      probeOwner: '',
      leaseUntil: Infinity,
    });
  }

  /** Reads what Redis holds now, once subscribed again, and follows it from there. */
  async rebase(): Promise<void> {
    this.forget();
    for (let waited = 0; !this.#subscribed; waited += 10) {
      if (waited > 10_000) throw new Error('the truth recorder could not subscribe');
      await sleep(10);
    }
    // Messages published before the change may still be on their way: let them pass.
    await sleep(50);
    for (let attempt = 0; ; attempt += 1) {
      try {
        const sentAt = this.now();
        const { state, now: redisNow } = await this.store.read(this.keys);
        this.#redisOffsetMs = redisNow - (sentAt + this.now()) / 2;
        this.#latest = state;
        this.#accepting = true;
        this.points.push({
          at: this.now(),
          state: state.state,
          announced: false,
          epoch: state.epoch,
          incarnation: state.incarnation,
          probeOwner: state.probeOwner,
          leaseUntil: this.#leaseUntil(state),
        });
        return;
      } catch (error) {
        if (attempt > 50) throw error;
        await sleep(RECONNECT_MAX_MS / 5);
      }
    }
  }

  async stop(): Promise<void> {
    this.#subscriber.disconnect();
    await Promise.resolve();
  }

  #leaseUntil(state: SharedBreakerState): number {
    return state.probeOwner === '' ? Infinity : state.probeLeaseUntil - this.#redisOffsetMs;
  }

  #onMessage(message: StateMessage): void {
    if (!this.#accepting || !this.#latest) return;
    if (isStale(message.state, this.#latest)) return;
    this.#latest = message.state;
    this.points.push({
      at: this.now(),
      state: message.state.state,
      announced: true,
      ...(message.from === undefined ? {} : { from: message.from }),
      epoch: message.state.epoch,
      incarnation: message.state.incarnation,
      probeOwner: message.state.probeOwner,
      leaseUntil: this.#leaseUntil(message.state),
    });
  }
}
