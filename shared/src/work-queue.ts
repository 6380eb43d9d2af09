import { randomUUID } from 'node:crypto';
import type { RedisClient } from './redis';
import { RedisScript } from '@cb-lab/shared-breaker';

/** Deletes the lock only if its holder still owns it (it may have expired and passed on). */
const UNLOCK = new RedisScript<number>(
  `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`,
  1,
);

/** Takes an id out of line and forgets its failed attempts, in one step. */
const REMOVE = new RedisScript<number>(
  `redis.call('HDEL', KEYS[2], ARGV[1])
return redis.call('ZREM', KEYS[1], ARGV[1])`,
  2,
);

/**
 * Counts a failed attempt, if the id is still in line (another worker may have finished it
 * meanwhile). Returns the attempts so far, or 0 when it was gone.
 */
const FAILED_ATTEMPT = new RedisScript<number>(
  `if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
return redis.call('HINCRBY', KEYS[2], ARGV[1], 1)`,
  2,
);

export interface WorkQueueKeys {
  /** Sorted set of ids, scored by when each is due: when it was added, or when it may be retried. */
  items: string;
  /** Hash of how many times each id's work failed unexpectedly. */
  attempts: string;
  /** The lock that lets one worker at a time take the items on. */
  lock: string;
}

/**
 * Ids of work still to do, in the order they fall due, kept in Redis so a
 * crash or a restart loses none, with a lock that lets one worker in the
 * cluster at a time work through them. Work must be idempotent: a lock can
 * expire under a slow worker, and a crashed worker's items are simply taken
 * on again. The keys must share a hash tag (one slot on a Redis Cluster).
 */
export class DurableWorkQueue {
  constructor(
    private readonly redis: RedisClient,
    readonly keys: WorkQueueKeys,
  ) {}

  /** Adds `id`, due now; adding it again keeps its place in line. */
  async add(id: string): Promise<void> {
    await this.redis.zadd(this.keys.items, 'NX', Date.now(), id);
  }

  size(): Promise<number> {
    return this.redis.zcard(this.keys.items);
  }

  /** Up to `count` ids due by `now`, the longest due first. */
  due(count: number, now = Date.now()): Promise<string[]> {
    return this.redis.zrangebyscore(this.keys.items, '-inf', now, 'LIMIT', 0, count);
  }

  /** Takes `id` out of line, its attempts with it. */
  async remove(id: string): Promise<void> {
    await REMOVE.run(this.redis, [this.keys.items, this.keys.attempts], [id]);
  }

  /** Leaves `id` in line but not due before `at` (epoch ms), with no attempt counted. */
  async postpone(id: string, at: number): Promise<void> {
    await this.redis.zadd(this.keys.items, 'XX', at, id);
  }

  /** Counts one failed attempt at `id`; resolves with the attempts so far, or 0 when `id` had left the line. */
  failedAttempt(id: string): Promise<number> {
    return FAILED_ATTEMPT.run(this.redis, [this.keys.items, this.keys.attempts], [id]);
  }

  async attemptsOf(id: string): Promise<number> {
    return Number((await this.redis.hget(this.keys.attempts, id)) ?? 0);
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

/**
 * The keys of a queue named `name` under a service's hash tag, e.g. `workQueueKeys('payments',
 * 'queue', 'settler')` gives `{payments}:queue`, `{payments}:queue:attempts` and
 * `{payments}:queue:settler`.
 */
export const workQueueKeys = (tag: string, name: string, worker: string): WorkQueueKeys => ({
  items: `{${tag}}:${name}`,
  attempts: `{${tag}}:${name}:attempts`,
  lock: `{${tag}}:${name}:${worker}`,
});
