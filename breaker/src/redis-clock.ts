/**
 * Milliseconds on a clock that never steps: the wall-clock time at process
 * start plus the monotonic time since. A wall clock set back or forward
 * (NTP, an operator, a VM resumed) moves `Date.now()` but not this.
 */
export const monotonicNow = (): number => performance.timeOrigin + performance.now();

/**
 * This replica's estimate of Redis server time. Every script answers with
 * Redis's clock; the offset from the local clock is taken at the midpoint of
 * the round trip, keeping the estimate from the fastest round trip seen
 * recently (the least uncertain one). The local clock is monotonic, so a
 * step of the wall clock changes nothing here.
 */
export class RedisClock {
  #offsetMs = 0;
  #uncertaintyMs = Infinity;
  #measuredAt = 0;

  constructor(readonly localNow: () => number = monotonicNow) {}

  /** Redis time now, as far as this replica can tell. */
  now(): number {
    return this.localNow() + this.#offsetMs;
  }

  /** Learns from one round trip: sent and received in local time, `redisNow` from the reply. */
  observe(sentAt: number, receivedAt: number, redisNow: number): void {
    const uncertainty = (receivedAt - sentAt) / 2;
    // Older estimates lose their privilege: clocks drift, so a 10 s old best gives way to a fresh one.
    const aged = this.#uncertaintyMs + (receivedAt - this.#measuredAt) / 1_000;
    if (uncertainty <= aged) {
      this.#offsetMs = redisNow - (sentAt + uncertainty);
      this.#uncertaintyMs = uncertainty;
      this.#measuredAt = receivedAt;
    }
  }

  /** Local milliseconds until Redis time `redisAt` (negative once it has passed). */
  untilRedis(redisAt: number): number {
    return redisAt - this.now();
  }

  get offsetMs(): number {
    return this.#offsetMs;
  }
}
