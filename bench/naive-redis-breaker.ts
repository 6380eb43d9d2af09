import type { Redis } from 'ioredis';

/**
 * The baseline the shared breaker is measured against: a breaker that keeps
 * its state in Redis the way pybreaker's CircuitRedisStorage does, reading
 * the state before every call and writing counters after it, each in its own
 * round trip (and so open to check-then-set races). Only for the benchmark.
 */
export class NaiveRedisBreaker {
  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly threshold: number,
  ) {}

  async execute<T>(fn: () => Promise<T>): Promise<T> {
    const state = await this.redis.hget(this.key, 'state');
    if (state === 'open') throw new Error('circuit open');
    try {
      const value = await fn();
      await this.redis.hset(this.key, 'failures', 0);
      return value;
    } catch (error) {
      const failures = await this.redis.hincrby(this.key, 'failures', 1);
      if (failures >= this.threshold) await this.redis.hset(this.key, 'state', 'open');
      throw error;
    }
  }

  async forceOpen(): Promise<void> {
    await this.redis.hset(this.key, 'state', 'open');
  }
}
