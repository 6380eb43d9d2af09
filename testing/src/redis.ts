import { Redis } from 'ioredis';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { images } from './images';

export interface TestRedis {
  readonly url: string;
  readonly container: StartedTestContainer;
  /** A new connection; closed by `stop()`. */
  connect(): Redis;
  stop(): Promise<void>;
}

/** Starts a real Redis in a container (image from `REDIS_IMAGE`). */
export async function startRedis(): Promise<TestRedis> {
  const container = await new GenericContainer(images.redis)
    .withExposedPorts(6379)
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .start();
  const url = `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
  const connections: Redis[] = [];
  return {
    url,
    container,
    connect() {
      const redis = new Redis(url, { maxRetriesPerRequest: 1 });
      connections.push(redis);
      return redis;
    },
    async stop() {
      await Promise.all(connections.map((redis) => redis.quit().catch(() => undefined)));
      await container.stop();
    },
  };
}
