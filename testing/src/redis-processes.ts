import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { images } from './images';

/**
 * Starts the Redis image running `script` (several servers in one container,
 * each announcing the container's address, which this machine reaches through
 * Docker's bridge) once it prints `ready`.
 */
export async function startRedisContainer(
  script: string,
  ready: RegExp,
): Promise<{ container: StartedTestContainer; ip: string }> {
  const container = await new GenericContainer(images.redis)
    .withEntrypoint(['sh', '-c'])
    .withCommand([script])
    .withWaitStrategy(Wait.forLogMessage(ready))
    .start();
  return { container, ip: container.getIpAddress(container.getNetworkNames()[0] ?? 'bridge') };
}

/**
 * The Redis servers running inside one test container, driven the way an
 * operator (or a crash) would: redis-cli and signals.
 */
export class RedisProcesses {
  /** @param password - the servers' password, if they have one (redis-cli is given it). */
  constructor(
    private readonly container: StartedTestContainer,
    private readonly password?: string,
  ) {}

  /** Runs redis-cli in the container and answers its output. */
  async cli(...args: string[]): Promise<string> {
    const { output, exitCode } = await this.container.exec(['redis-cli', ...args], {
      env: this.password === undefined ? {} : { REDISCLI_AUTH: this.password },
    });
    if (exitCode !== 0) throw new Error(`redis-cli ${args.join(' ')} failed: ${output}`);
    return output.trim();
  }

  async pidOn(port: string): Promise<string> {
    const pid = /process_id:(\d+)/.exec(await this.cli('-p', port, 'info', 'server'))?.[1];
    if (!pid) throw new Error(`no process id for the server on port ${port}`);
    return pid;
  }

  async signal(name: 'STOP' | 'CONT' | 'KILL', pid: string): Promise<void> {
    const { exitCode, output } = await this.container.exec(['sh', '-c', `kill -${name} ${pid}`]);
    if (exitCode !== 0) throw new Error(`kill -${name} ${pid} failed: ${output}`);
  }

  /** Kills the server on `port` at once (SIGKILL): no save, no goodbye to its replicas. */
  async crash(port: string): Promise<void> {
    await this.signal('KILL', await this.pidOn(port));
  }

  /**
   * Makes a failover lose writes, as asynchronous replication can: the
   * replica is frozen (SIGSTOP) and its replication link filled up with a
   * value under `fillerKey` (a key the primary holds), `write` runs (what it
   * writes reaches the primary only), then the primary crashes and the
   * replica resumes without it.
   */
  async crashLosing(
    {
      primaryPort,
      replicaPort,
      fillerKey,
    }: { primaryPort: string; replicaPort: string; fillerKey: string },
    write: () => Promise<void>,
  ): Promise<void> {
    const [primaryPid, replicaPid] = await Promise.all(
      [primaryPort, replicaPort].map((p) => this.pidOn(p)),
    );
    await this.signal('STOP', replicaPid as string);
    try {
      // More than the sockets between them hold: what follows stays in the primary's memory.
      await this.cli(
        '-p',
        primaryPort,
        'eval',
        "redis.call('SET', KEYS[1], string.rep('x', 48 * 1024 * 1024))",
        '1',
        fillerKey,
      );
      await write();
      await this.signal('KILL', primaryPid as string);
    } finally {
      await this.signal('CONT', replicaPid as string);
    }
  }
}

export const portOf = (address: string) => address.slice(address.lastIndexOf(':') + 1);
