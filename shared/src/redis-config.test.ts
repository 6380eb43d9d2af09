import { z } from 'zod';
import { loadConfig } from './config';
import { problemsOf } from './config.fixture';
import { checkRedisTopology, redisConfigShape, redisConnectionOf } from './redis-config';

const schema = z.object(redisConfigShape).superRefine(checkRedisTopology);

const connectionFor = (env: NodeJS.ProcessEnv) => redisConnectionOf(loadConfig(schema, env));

const rejected = (env: NodeJS.ProcessEnv) => problemsOf(schema, env);

describe('the Redis topology a service is configured with', () => {
  it('is a standalone URL by default, or the one given', () => {
    expect(connectionFor({})).toBe('redis://localhost:6379');
    expect(connectionFor({ REDIS_URL: 'redis://app:secret@redis:6379' })).toBe(
      'redis://app:secret@redis:6379',
    );
  });

  it('is a Sentinel set with REDIS_SENTINELS and REDIS_SENTINEL_NAME, with credentials', () => {
    expect(
      connectionFor({
        REDIS_SENTINELS: 'sentinel-1:26379, sentinel-2:26379,sentinel-3:26379',
        REDIS_SENTINEL_NAME: 'primary',
        REDIS_USERNAME: 'app',
        REDIS_PASSWORD: 'secret',
        REDIS_SENTINEL_PASSWORD: 'watcher',
      }),
    ).toEqual({
      sentinels: ['sentinel-1:26379', 'sentinel-2:26379', 'sentinel-3:26379'],
      name: 'primary',
      username: 'app',
      password: 'secret',
      sentinelPassword: 'watcher',
    });
  });

  it('is a cluster with REDIS_CLUSTER_NODES', () => {
    expect(connectionFor({ REDIS_CLUSTER_NODES: '10.0.0.1:7000,10.0.0.2:7000' })).toEqual({
      clusterNodes: ['10.0.0.1:7000', '10.0.0.2:7000'],
    });
  });

  it('takes an empty variable as unset, so an override file can clear the base one', () => {
    expect(connectionFor({ REDIS_URL: '', REDIS_CLUSTER_NODES: 'redis-1:7000' })).toEqual({
      clusterNodes: ['redis-1:7000'],
    });
  });

  it('refuses two topologies at once, naming both variables', () => {
    expect(
      rejected({ REDIS_URL: 'redis://redis:6379', REDIS_CLUSTER_NODES: 'redis-1:7000' }),
    ).toEqual([
      'REDIS_CLUSTER_NODES: expected one Redis topology, but REDIS_URL is set too: set one of REDIS_URL, REDIS_SENTINELS, REDIS_CLUSTER_NODES (got a value that was hidden)',
    ]);
  });

  it('refuses sentinels without the primary name, and the name without sentinels', () => {
    expect(rejected({ REDIS_SENTINELS: 'sentinel:26379' })).toEqual([
      "REDIS_SENTINEL_NAME: expected the primary's name when REDIS_SENTINELS is set (it is not set)",
    ]);
    expect(rejected({ REDIS_SENTINEL_NAME: 'primary' })).toEqual([
      'REDIS_SENTINELS: expected the sentinels (host:port,…) when REDIS_SENTINEL_NAME is set (it is not set)',
    ]);
  });

  it('refuses a node that is not host:port, without echoing what was given', () => {
    for (const nodes of [
      'redis',
      'redis:',
      'redis:99999',
      'redis:6379,',
      'redis://r:6379',
      'lab:secret@redis:6379',
    ])
      expect(rejected({ REDIS_CLUSTER_NODES: nodes })).toEqual([
        'REDIS_CLUSTER_NODES: expected host:port, or several separated by commas (got a value that was hidden)',
      ]);
    expect(
      rejected({
        REDIS_CLUSTER_NODES: 'redis-1:7000',
        REDIS_SENTINEL_PASSWORD: 'hunter2-secret',
      }),
    ).toEqual([
      'REDIS_SENTINEL_PASSWORD: expected only with REDIS_SENTINELS (got a value that was hidden)',
    ]);
  });

  it('refuses credentials beside a URL, which carries its own', () => {
    expect(rejected({ REDIS_URL: 'redis://redis:6379', REDIS_PASSWORD: 'secret' })).toEqual([
      'REDIS_PASSWORD: expected only with REDIS_SENTINELS or REDIS_CLUSTER_NODES (a REDIS_URL carries its own credentials) (got a value that was hidden)',
    ]);
  });
});
