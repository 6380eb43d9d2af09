import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import {
  GenericContainer,
  getContainerRuntimeClient,
  Wait,
  type StartedTestContainer,
} from 'testcontainers';
import { images } from './images';

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  readonly container: StartedTestContainer;
  /** A new connection; closed by `stop()`. */
  connect(): Redis;
  /** Freezes the Redis process (`docker pause`): connections stay open and nothing answers. */
  pause(): Promise<void>;
  unpause(): Promise<void>;
  /**
   * Stops the Redis container at once (connections are refused); `revive`
   * starts it again on the same port, with the data of the last
   * {@link snapshot} if one was taken, else empty.
   */
  kill(): Promise<void>;
  revive(): Promise<void>;
  /** Writes the data set to disk now (`SAVE`): what a restart comes back with. */
  snapshot(): Promise<void>;
  /** Deletes the snapshot on disk, so that the next restart comes back empty. */
  forgetSnapshot(): Promise<void>;
  /** Total commands Redis has executed, by command name (from INFO commandstats). */
  commandCounts(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => {
        resolve(port);
      });
    });
  });

/**
 * Starts a real Redis in a container (image from `REDIS_IMAGE`) on a fixed
 * host port, so it can be stopped and started again at the same address.
 */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const container = await new GenericContainer(images.redis)
    .withExposedPorts({ container: 6379, host: port })
    .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .start();
  const url = `redis://${container.getHost()}:${port}`;
  const docker = (await getContainerRuntimeClient()).container.getById(container.getId());
  const connections: Redis[] = [];
  const admin = new Redis(url, { maxRetriesPerRequest: 1 });
  // Tests stop and pause Redis on purpose; a failed command says so where it matters.
  admin.on('error', () => undefined);
  connections.push(admin);

  return {
    url,
    port,
    container,
    connect() {
      const redis = new Redis(url, { maxRetriesPerRequest: 1 });
      // Tests stop and pause Redis on purpose; a failed command says so where it matters.
      redis.on('error', () => undefined);
      connections.push(redis);
      return redis;
    },
    async snapshot() {
      await admin.save();
    },
    async forgetSnapshot() {
      const [, dir] = (await admin.config('GET', 'dir')) as [string, string];
      const [, file] = (await admin.config('GET', 'dbfilename')) as [string, string];
      await container.exec(['rm', '-f', `${dir}/${file}`]);
    },
    pause: () => docker.pause(),
    unpause: () => docker.unpause(),
    kill: () => docker.stop({ t: 0 }),
    async revive() {
      await docker.start();
      for (let attempt = 0; attempt < 100; attempt += 1) {
        if (
          await admin.ping().then(
            () => true,
            () => false,
          )
        )
          return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error('redis did not come back');
    },
    async commandCounts() {
      const info = await admin.info('commandstats');
      return Object.fromEntries(
        [...info.matchAll(/^cmdstat_(\w+(?:\|\w+)?):calls=(\d+)/gm)].map(
          ([, name = '', calls = '0']) => [name, Number(calls)],
        ),
      );
    },
    async stop() {
      await Promise.all(
        connections.map((redis) =>
          redis.quit().catch(() => {
            redis.disconnect();
          }),
        ),
      );
      await container.stop();
    },
  };
}
