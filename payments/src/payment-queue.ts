import { RedisScript } from '@cb-lab/shared';
import type { Redis } from 'ioredis';

const QUEUE_KEY = 'payments:queue';
const LOCK_KEY = 'payments:queue:settler';

/** Deletes the lock only if this settler still holds it (it may have expired and passed on). */
const UNLOCK = new RedisScript<number>(
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
  1,
);

/**
 * Payments accepted while the gateway's breaker was open, oldest first,
 * persisted in Redis so no replica's crash loses one. A lock lets one
 * replica at a time settle them.
 */
export class PaymentQueue {
  constructor(private readonly redis: Redis) {}

  /** Queues `paymentId` once; queueing it again keeps its place. */
  async enqueue(paymentId: string): Promise<void> {
    await this.redis.zadd(QUEUE_KEY, 'NX', Date.now(), paymentId);
  }

  size(): Promise<number> {
    return this.redis.zcard(QUEUE_KEY);
  }

  oldest(count: number): Promise<string[]> {
    return this.redis.zrange(QUEUE_KEY, 0, count - 1);
  }

  async remove(paymentId: string): Promise<void> {
    await this.redis.zrem(QUEUE_KEY, paymentId);
  }

  /** Takes the settler lock for `ttlMs` unless another replica holds it. */
  async tryLock(token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(LOCK_KEY, token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async unlock(token: string): Promise<void> {
    await UNLOCK.run(this.redis, [LOCK_KEY], [token]);
  }
}
