import { cpus, totalmem } from 'node:os';
import type { Redis } from 'ioredis';

/** The machine a figure was measured on, printed beside every result. */
export function describeMachine(redisVersion?: string): string {
  const cpu = cpus();
  return [
    `${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'})`,
    `${Math.round(totalmem() / 2 ** 30)} GiB`,
    `Node.js ${process.version}`,
    ...(redisVersion === undefined ? [] : [`Redis ${redisVersion}`]),
  ].join(', ');
}

/** The version a Redis server reports of itself. */
export async function redisVersionOf(redis: Redis): Promise<string | undefined> {
  return /redis_version:(\S+)/.exec(await redis.info('server'))?.[1];
}
