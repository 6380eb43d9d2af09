import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { images } from './images';

/** A real Redis Cluster of three primaries (no replicas), for tests. */
export interface TestRedisCluster {
  /** Seed nodes, `host:port`, as a client gives them. */
  readonly nodes: readonly string[];
  readonly container: StartedTestContainer;
  stop(): Promise<void>;
}

const PORTS = [7000, 7001, 7002];

/*
 * Three cluster nodes in one container, each announcing the container's own
 * address, which this machine reaches through Docker's bridge; the slots are
 * spread over them by `redis-cli --cluster create`. One container keeps the
 * start fast; the nodes are separate processes with their own slots, so
 * MOVED, routing and cross-node pub/sub are the real thing.
 */
const START = `
IP=$(hostname -i | awk '{print $1}')
for port in ${PORTS.join(' ')}; do
  redis-server --port $port --bind 0.0.0.0 --protected-mode no --cluster-enabled yes \\
    --cluster-config-file nodes-$port.conf --cluster-announce-ip $IP \\
    --save '' --appendonly no --dir /tmp --daemonize yes
done
for port in ${PORTS.join(' ')}; do until redis-cli -p $port ping > /dev/null 2>&1; do sleep 0.1; done; done
redis-cli --cluster create ${PORTS.map((p) => `$IP:${p}`).join(' ')} --cluster-replicas 0 --cluster-yes > /dev/null
for port in ${PORTS.join(' ')}; do
  until redis-cli -p $port cluster info | grep -q cluster_state:ok; do sleep 0.1; done
done
echo "cluster ready at $IP"
exec tail -f /dev/null
`;

export async function startRedisCluster(): Promise<TestRedisCluster> {
  const container = await new GenericContainer(images.redis)
    .withEntrypoint(['sh', '-c'])
    .withCommand([START])
    .withWaitStrategy(Wait.forLogMessage(/cluster ready at/))
    .start();
  const ip = container.getIpAddress(container.getNetworkNames()[0] ?? 'bridge');
  return {
    nodes: PORTS.map((port) => `${ip}:${port}`),
    container,
    stop: async () => {
      await container.stop({ timeout: 0 });
    },
  };
}
