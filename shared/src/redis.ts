import { Redis } from 'ioredis';
import type { Logger } from './logger';
import type { ReadinessCheck } from './readiness';
import type { ServiceContext } from './service-runner';

export interface RedisClientOptions {
  url: string;
  logger: Logger;
  /** Longest a single command may wait for Redis before it fails. */
  commandTimeoutMs?: number;
}

/**
 * A Redis connection that fails commands quickly while Redis is away instead
 * of queueing them without bound, and says in the logs when it comes and goes.
 */
export function createRedisClient({
  url,
  logger,
  commandTimeoutMs = 2_000,
}: RedisClientOptions): Redis {
  const redis = new Redis(url, {
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let healthy = false;
  redis.on('ready', () => {
    healthy = true;
    logger.info('redis connection ready');
  });
  redis.on('error', (error: Error) => {
    // ioredis reports every reconnect attempt; one line per outage is enough.
    if (healthy) logger.warn('redis connection lost', { error });
    healthy = false;
  });
  return redis;
}

export const redisReadiness = (redis: Redis): ReadinessCheck => ({
  name: 'redis',
  check: () => redis.ping(),
});

/** Opens the service's Redis connection and closes it when the service shuts down. */
export function connectRedis({
  config,
  logger,
  onShutdown,
}: ServiceContext<{ REDIS_URL: string }>): Redis {
  const redis = createRedisClient({ url: config.REDIS_URL, logger });
  onShutdown(() => redis.quit());
  return redis;
}
