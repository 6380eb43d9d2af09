import type { RedisConnection } from '@cb-lab/shared-breaker';
import { z } from 'zod';
import { env } from './config';

/** An empty variable counts as unset, so a compose override can clear one the base file sets. */
const unsetIfEmpty = <T extends z.ZodType>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

/**
 * Where a service's Redis is: one of `REDIS_URL` (a standalone server),
 * `REDIS_SENTINELS` + `REDIS_SENTINEL_NAME` (a primary watched by Sentinel),
 * or `REDIS_CLUSTER_NODES` (a Redis Cluster). Spread into a service's schema
 * and checked with {@link checkRedisTopology}.
 */
export const redisConfigShape = {
  /** A standalone Redis, credentials in the URL (`redis://user:password@host:6379`). */
  REDIS_URL: unsetIfEmpty(env.url({ protocols: ['redis:', 'rediss:'] })),
  /** Sentinels, `host:port,host:port,…`. */
  REDIS_SENTINELS: unsetIfEmpty(env.hostPorts()),
  /** The name the sentinels know the primary by. */
  REDIS_SENTINEL_NAME: unsetIfEmpty(env.string()),
  /** Cluster seed nodes, `host:port,host:port,…`. */
  REDIS_CLUSTER_NODES: unsetIfEmpty(env.hostPorts()),
  /** The ACL user and password on Sentinel and Cluster (a URL carries its own). */
  REDIS_USERNAME: unsetIfEmpty(env.string()),
  REDIS_PASSWORD: unsetIfEmpty(env.string()),
  /** The sentinels' own password, if they have one. */
  REDIS_SENTINEL_PASSWORD: unsetIfEmpty(env.string()),
};

export const DEFAULT_REDIS_URL = 'redis://localhost:6379';

export type RedisConfig = z.output<z.ZodObject<typeof redisConfigShape>>;

const TOPOLOGY_VARIABLES = ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'] as const;

/** The checks across variables: one topology, and what it needs. For a schema's superRefine. */
export function checkRedisTopology(config: RedisConfig, context: z.RefinementCtx): void {
  const given = TOPOLOGY_VARIABLES.filter((name) => config[name] !== undefined);
  for (const name of given.slice(1))
    context.addIssue({
      code: 'custom',
      path: [name],
      message: `expected one Redis topology, but ${given[0]} is set too: set one of ${TOPOLOGY_VARIABLES.join(', ')}`,
    });
  if (config.REDIS_SENTINELS !== undefined && config.REDIS_SENTINEL_NAME === undefined)
    context.addIssue({
      code: 'custom',
      path: ['REDIS_SENTINEL_NAME'],
      message: "expected the primary's name when REDIS_SENTINELS is set",
    });
  if (config.REDIS_SENTINEL_NAME !== undefined && config.REDIS_SENTINELS === undefined)
    context.addIssue({
      code: 'custom',
      path: ['REDIS_SENTINELS'],
      message: 'expected the sentinels (host:port,…) when REDIS_SENTINEL_NAME is set',
    });
  const onUrl = config.REDIS_SENTINELS === undefined && config.REDIS_CLUSTER_NODES === undefined;
  for (const name of ['REDIS_USERNAME', 'REDIS_PASSWORD'] as const) {
    if (onUrl && config[name] !== undefined)
      context.addIssue({
        code: 'custom',
        path: [name],
        message:
          'expected only with REDIS_SENTINELS or REDIS_CLUSTER_NODES (a REDIS_URL carries its own credentials)',
      });
  }
  if (config.REDIS_SENTINEL_PASSWORD !== undefined && config.REDIS_SENTINELS === undefined)
    context.addIssue({
      code: 'custom',
      path: ['REDIS_SENTINEL_PASSWORD'],
      message: 'expected only with REDIS_SENTINELS',
    });
}

/** The connection a checked configuration names, for the services' clients and the breaker's store. */
export function redisConnectionOf(config: RedisConfig): RedisConnection {
  const credentials = {
    ...(config.REDIS_USERNAME === undefined ? {} : { username: config.REDIS_USERNAME }),
    ...(config.REDIS_PASSWORD === undefined ? {} : { password: config.REDIS_PASSWORD }),
  };
  if (config.REDIS_SENTINELS !== undefined)
    return {
      sentinels: config.REDIS_SENTINELS,
      name: config.REDIS_SENTINEL_NAME ?? '',
      ...credentials,
      ...(config.REDIS_SENTINEL_PASSWORD === undefined
        ? {}
        : { sentinelPassword: config.REDIS_SENTINEL_PASSWORD }),
    };
  if (config.REDIS_CLUSTER_NODES !== undefined)
    return { clusterNodes: config.REDIS_CLUSTER_NODES, ...credentials };
  return config.REDIS_URL ?? DEFAULT_REDIS_URL;
}
