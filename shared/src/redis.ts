import { redisClientFor, type RedisConnection } from '@cb-lab/shared-breaker';
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from './logger';
import type { ReadinessCheck } from './readiness';
import { redisConnectionOf, type RedisConfig } from './redis-config';
import type { ServiceContext } from './service-runner';

/** A service's Redis: one server (standalone, or Sentinel's primary) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

export interface RedisClientOptions {
  /** A URL, a Sentinel set or cluster nodes (see {@link redisConnectionOf}). */
  connection: RedisConnection;
  logger: Logger;
  /** Longest a single command may wait for Redis before it fails. */
  commandTimeoutMs?: number;
}

/**
 * A Redis connection that, once connected, fails commands at once while it
 * is disconnected (no offline queue) and after `commandTimeoutMs` while Redis is frozen,
 * instead of making requests wait for it; the central error handler answers
 * those failures with 503 store_unavailable. Says in the logs when Redis
 * comes and goes.
 */
export function createRedisClient({
  connection,
  logger,
  commandTimeoutMs = 1_000,
}: RedisClientOptions): RedisClient {
  const redis = redisClientFor(connection, {
    commandTimeout: commandTimeoutMs,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  let healthy = false;
  redis.on('ready', () => {
    // Queue commands only until the first connection is up (a service may use Redis before
    // that); afterwards a command issued while disconnected fails at once instead of waiting.
    redis.options.enableOfflineQueue = false;
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

export const redisReadiness = (redis: RedisClient): ReadinessCheck => ({
  name: 'redis',
  check: () => redis.ping(),
});

/** Opens the service's Redis connection and closes it when the service shuts down. */
export function connectRedis({
  config,
  logger,
  onShutdown,
}: ServiceContext<RedisConfig>): RedisClient {
  const redis = createRedisClient({ connection: redisConnectionOf(config), logger });
  onShutdown(() => redis.quit());
  return redis;
}
