import type { StartedTestContainer } from 'testcontainers';
import { portOf, RedisProcesses, startRedisContainer } from './redis-processes';

/** A real Sentinel set: a primary, one replica and three sentinels watching them as `primary`. */
export interface TestRedisSentinel {
  /** The sentinels, `host:port`, as a client gives them. */
  readonly sentinels: readonly string[];
  /** The name the sentinels know the primary by. */
  readonly name: string;
  readonly container: StartedTestContainer;
  /** The primary's address now, as the sentinels tell it. */
  primary(): Promise<string>;
  /** Shuts the current primary down (no save): the sentinels fail over to the replica. */
  killPrimary(): Promise<void>;
  /** Kills the current primary at once (SIGKILL), as a crash would. */
  crashPrimary(): Promise<void>;
  /**
   * Makes a failover lose writes, as asynchronous replication can: the
   * replica is frozen and its replication link filled up, `write` runs (its
   * writes reach the primary only), then the primary crashes (SIGKILL) and the
   * replica resumes without them. The sentinels then promote that replica.
   */
  crashPrimaryLosing(write: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

const NAME = 'primary';
const SENTINEL_PORTS = [26379, 26380, 26381];

/*
 * Every process in one container, each announcing the container's own
 * address (reachable from this machine through Docker's bridge): failover
 * is the sentinels' real election, in about two seconds with a 1 s
 * down-after.
 */
const START = `
IP=$(hostname -i | awk '{print $1}')
common="--bind 0.0.0.0 --protected-mode no --save '' --appendonly no --dir /tmp --daemonize yes"
eval redis-server --port 6379 $common --replica-announce-ip $IP
eval redis-server --port 6380 $common --replica-announce-ip $IP --replicaof $IP 6379
for port in ${SENTINEL_PORTS.join(' ')}; do
  printf "port $port\\nbind 0.0.0.0\\nprotected-mode no\\ndir /tmp\\nsentinel announce-ip $IP\\n" > /tmp/sentinel-$port.conf
  printf "sentinel monitor ${NAME} $IP 6379 2\\nsentinel down-after-milliseconds ${NAME} 1000\\n" >> /tmp/sentinel-$port.conf
  printf "sentinel failover-timeout ${NAME} 5000\\n" >> /tmp/sentinel-$port.conf
  redis-server /tmp/sentinel-$port.conf --sentinel --daemonize yes
done
until redis-cli -p 26379 sentinel replicas ${NAME} 2>/dev/null | grep -q 6380; do sleep 0.2; done
until [ "$(redis-cli -p 26379 sentinel sentinels ${NAME} 2>/dev/null | grep -c 2638)" -ge 2 ]; do sleep 0.2; done
echo "sentinels ready at $IP"
exec tail -f /dev/null
`;

export async function startRedisSentinel(): Promise<TestRedisSentinel> {
  const { container, ip } = await startRedisContainer(START, /sentinels ready at/);
  const servers = new RedisProcesses(container);
  const primary = async () => {
    const [host, port] = (
      await servers.cli(
        '-p',
        String(SENTINEL_PORTS[0]),
        'sentinel',
        'get-master-addr-by-name',
        NAME,
      )
    ).split('\n');
    return `${host}:${port}`;
  };
  return {
    sentinels: SENTINEL_PORTS.map((port) => `${ip}:${port}`),
    name: NAME,
    container,
    primary,
    killPrimary: async () => {
      const port = portOf(await primary());
      // SHUTDOWN closes the connection without a reply: redis-cli reports that, not a failure.
      await container.exec(['redis-cli', '-p', port, 'shutdown', 'nosave']);
    },
    crashPrimary: async () => {
      await servers.crash(portOf(await primary()));
    },
    crashPrimaryLosing: async (write) => {
      const primaryPort = portOf(await primary());
      const replicaPort = primaryPort === '6379' ? '6380' : '6379';
      await servers.crashLosing({ primaryPort, replicaPort, fillerKey: 'filler' }, write);
    },
    stop: async () => {
      await container.stop({ timeout: 0 });
    },
  };
}
