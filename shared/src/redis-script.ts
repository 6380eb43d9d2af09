import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * A Lua script run by its SHA (EVALSHA), loading it with EVAL only when the
 * server does not know it yet (first call, or after a Redis restart).
 */
export class RedisScript<Result = unknown> {
  readonly sha: string;

  constructor(
    readonly lua: string,
    readonly numberOfKeys: number,
  ) {
    this.sha = createHash('sha1').update(lua).digest('hex');
  }

  async run(
    redis: Redis,
    keys: readonly string[],
    args: readonly (string | number)[] = [],
  ): Promise<Result> {
    if (keys.length !== this.numberOfKeys) {
      throw new Error(`script expects ${this.numberOfKeys} keys, got ${keys.length}`);
    }
    try {
      return (await redis.evalsha(this.sha, this.numberOfKeys, ...keys, ...args)) as Result;
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return (await redis.eval(this.lua, this.numberOfKeys, ...keys, ...args)) as Result;
    }
  }
}
