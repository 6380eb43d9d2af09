import type { RateTrip } from './breaker-options';
import type { ScriptReply } from './breaker-state';
import type { BucketCounts } from './breaker-store';
import { OutcomeReporter, type SendBatch } from './outcome-reporter';
import type { RedisClock } from './redis-clock';

/**
 * Rate mode: outcomes are counted per window bucket (by the Redis time at
 * which each call ended) and written every `flushIntervalMs`, so the
 * success path costs a counter increment. When Redis says the next bucket
 * settles later (`decideAt`) and nothing is pending, an empty write is sent
 * then, so a decision comes without more traffic.
 */
export class RateReporter extends OutcomeReporter<BucketCounts[]> {
  #buckets = new Map<number, BucketCounts>();
  #decideTimer: NodeJS.Timeout | undefined;

  constructor(
    send: SendBatch<BucketCounts[]>,
    private readonly trip: RateTrip,
    protected readonly gatherMs: number,
    private readonly clock: RedisClock,
  ) {
    super(send);
  }

  override dispose(): void {
    this.#stopDecideTimer();
    super.dispose();
  }

  /** Counts the outcome in the bucket of the store's time now, when its call ended. */
  protected add(failed: boolean): boolean {
    const bucket = Math.floor(this.clock.now() / this.trip.bucketMs);
    let counts = this.#buckets.get(bucket);
    if (!counts) {
      counts = { bucket, successes: 0, failures: 0 };
      this.#buckets.set(bucket, counts);
    }
    if (failed) counts.failures += 1;
    else counts.successes += 1;
    return true;
  }

  protected hasPending(): boolean {
    return this.#buckets.size > 0;
  }

  protected take(): BucketCounts[] {
    this.#stopDecideTimer();
    const batch = [...this.#buckets.values()];
    this.#buckets = new Map();
    return batch;
  }

  protected clear(): void {
    this.#buckets = new Map();
  }

  protected override answered(reply: ScriptReply): void {
    if (!reply.decideAt || this.hasPending()) return;
    this.#stopDecideTimer();
    const delayMs = Math.max(0, this.clock.untilRedis(reply.decideAt)) + 1;
    this.#decideTimer = setTimeout(() => {
      this.#decideTimer = undefined;
      if (!this.hasPending()) this.sendNow([]);
    }, delayMs).unref();
  }

  #stopDecideTimer(): void {
    clearTimeout(this.#decideTimer);
    this.#decideTimer = undefined;
  }
}
