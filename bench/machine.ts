import { cpus, totalmem } from 'node:os';
import type { Redis } from 'ioredis';

/** The machine a figure was measured on, printed beside every result. */
export async function describeMachine(redis?: Redis): Promise<string> {
  const cpu = cpus();
  const redisVersion = redis
    ? /redis_version:(\S+)/.exec(await redis.info('server'))?.[1]
    : undefined;
  return [
    `${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'})`,
    `${Math.round(totalmem() / 2 ** 30)} GiB`,
    `Node.js ${process.version}`,
    ...(redisVersion === undefined ? [] : [`Redis ${redisVersion}`]),
  ].join(', ');
}
