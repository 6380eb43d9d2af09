import { RedisScript } from '@cb-lab/shared';
import type { Redis } from 'ioredis';

const PENDING_KEY = 'orders:pending';
const LOCK_KEY = 'orders:pending:reconciler';

/** Deletes the lock only if this reconciler still holds it (it may have expired and passed on). */
const UNLOCK = new RedisScript<number>(
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
  1,
);

/**
 * Ids of the orders whose payment is still to settle, oldest first,
 * persisted in Redis so an orders restart forgets none of them. A lock lets
 * one orders instance at a time reconcile them.
 */
export class PendingOrders {
  constructor(private readonly redis: Redis) {}

  /** Adds `orderId` once; adding it again keeps its place. */
  async add(orderId: string): Promise<void> {
    await this.redis.zadd(PENDING_KEY, 'NX', Date.now(), orderId);
  }

  size(): Promise<number> {
    return this.redis.zcard(PENDING_KEY);
  }

  oldest(count: number): Promise<string[]> {
    return this.redis.zrange(PENDING_KEY, 0, count - 1);
  }

  async remove(orderId: string): Promise<void> {
    await this.redis.zrem(PENDING_KEY, orderId);
  }

  /** Takes the reconciler lock for `ttlMs` unless another instance holds it. */
  async tryLock(token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(LOCK_KEY, token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async unlock(token: string): Promise<void> {
    await UNLOCK.run(this.redis, [LOCK_KEY], [token]);
  }
}
