import { randomUUID } from 'node:crypto';
import type { RedisClient } from './redis';
import { RedisScript } from '@cb-lab/shared-breaker';

/** Deletes the lock only if its holder still owns it (it may have expired and passed on). */
const UNLOCK = new RedisScript<number>(
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
  1,
);

export interface WorkQueueKeys {
  /** Sorted set of ids, scored by when they were added. */
  items: string;
  /** The lock that lets one worker at a time take the items on. */
  lock: string;
}

/**
 * Ids of work still to do, oldest first, kept in Redis so a crash or a
 * restart loses none, with a lock that lets one worker in the cluster at a
 * time work through them. Work must be idempotent: a lock can expire under a
 * slow worker, and a crashed worker's items are simply taken on again.
 */
export class DurableWorkQueue {
  constructor(
    private readonly redis: RedisClient,
    readonly keys: WorkQueueKeys,
  ) {}

  /** Adds `id` once; adding it again keeps its place in line. */
  async add(id: string): Promise<void> {
    await this.redis.zadd(this.keys.items, 'NX', Date.now(), id);
  }

  size(): Promise<number> {
    return this.redis.zcard(this.keys.items);
  }

  oldest(count: number): Promise<string[]> {
    return this.redis.zrange(this.keys.items, 0, count - 1);
  }

  async remove(id: string): Promise<void> {
    await this.redis.zrem(this.keys.items, id);
  }

  /**
   * Runs `work` while holding the lock for at most `lockMs`, or resolves
   * `undefined` at once when another worker holds it. `work` is handed the
   * time after which it should start nothing new: `marginMs` before the lock
   * expires, so what it started last can finish while the lock is still held.
   */
  async whileLocked<T>(
    lockMs: number,
    marginMs: number,
    work: (startNothingAfter: number) => Promise<T>,
  ): Promise<T | undefined> {
    const token = randomUUID();
    const lockedAt = Date.now();
    if ((await this.redis.set(this.keys.lock, token, 'PX', lockMs, 'NX')) !== 'OK')
      return undefined;
    try {
      return await work(lockedAt + lockMs - marginMs);
    } finally {
      await UNLOCK.run(this.redis, [this.keys.lock], [token]);
    }
  }
}
