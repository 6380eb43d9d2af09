import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/**
 * What a script declares to Redis (7.0 or later) in its first line:
 * - `no-writes`: it only reads, so it runs on a replica and at the memory limit;
 * - `allow-oom`: it may write even when Redis is over `maxmemory` (with
 *   `noeviction`, where every other write is refused). Only for scripts whose
 *   writes are bounded, such as a breaker's state.
 */
export type RedisScriptFlag = 'no-writes' | 'allow-oom';

/**
 * A Lua script run by its SHA (EVALSHA), loading it with EVAL only when the
 * server does not know it yet (first call, or after a Redis restart or
 * `SCRIPT FLUSH`): two round trips then. Where one round trip is all a
 * caller may wait, {@link RedisScript.eval} sends the whole script every time.
 * A script given `flags` carries them in a `#!lua flags=…` first line, which
 * needs Redis 7.0 or later.
 */
export class RedisScript<Result = unknown> {
  /** The script as sent to Redis, with its flags line when it has flags. */
  readonly lua: string;
  readonly sha: string;

  constructor(
    body: string,
    readonly numberOfKeys: number,
    readonly flags: readonly RedisScriptFlag[] = [],
  ) {
    this.lua = flags.length === 0 ? body : `#!lua flags=${flags.join(',')}\n${body}`;
    this.sha = createHash('sha1').update(this.lua).digest('hex');
  }

  async run(
    redis: Redis | Cluster,
    keys: readonly string[],
    args: readonly (string | number)[] = [],
  ): Promise<Result> {
    this.#checkKeys(keys);
    try {
      return (await redis.evalsha(this.sha, this.numberOfKeys, ...keys, ...args)) as Result;
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return (await redis.eval(this.lua, this.numberOfKeys, ...keys, ...args)) as Result;
    }
  }

  /** Runs the script in exactly one round trip, whether or not the server has it cached. */
  async eval(
    redis: Redis | Cluster,
    keys: readonly string[],
    args: readonly (string | number)[] = [],
  ): Promise<Result> {
    this.#checkKeys(keys);
    return (await redis.eval(this.lua, this.numberOfKeys, ...keys, ...args)) as Result;
  }

  /** Puts the script in the server's cache, so that the next {@link RedisScript.run} takes one round trip. */
  async load(redis: Redis | Cluster): Promise<void> {
    await redis.script('LOAD', this.lua);
  }

  #checkKeys(keys: readonly string[]): void {
    if (keys.length !== this.numberOfKeys) {
      throw new Error(`script expects ${this.numberOfKeys} keys, got ${keys.length}`);
    }
  }
}
