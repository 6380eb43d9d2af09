import type { StartedTestContainer } from 'testcontainers';
import { portOf, RedisProcesses, startRedisContainer } from './redis-processes';

/** A real Redis Cluster of three primaries, each with a replica, for tests. */
export interface TestRedisCluster {
  /** Seed nodes, `host:port`, as a client gives them (the three first primaries). */
  readonly nodes: readonly string[];
  /** Every node's password (`requirepass`, the default user's), as production has one. */
  readonly password: string;
  readonly container: StartedTestContainer;
  /** The primary (`host:port`) holding `key`'s slot now. */
  primaryOf(key: string): Promise<string>;
  /** The replica (`host:port`) of a primary. */
  replicaOf(primary: string): Promise<string>;
  /** The nodes (`host:port`) that have a pub/sub client connected now. */
  nodesWithSubscribers(): Promise<string[]>;
  /** Kills a node at once (SIGKILL). */
  crash(node: string): Promise<void>;
  /**
   * Moves `key`'s slot, with its keys, to the primary `to`, as resharding
   * does: the slot is marked migrating and importing, `between` runs while
   * it is (clients get ASK, or TRYAGAIN for a script whose keys are split),
   * the keys are migrated, then every node is told the new owner.
   */
  moveSlotOf(key: string, to: string, between?: () => Promise<void>): Promise<void>;
  /** Calls of each command so far, summed over the live primaries (`INFO commandstats`). */
  commandCounts(): Promise<Record<string, number>>;
  /** {@link RedisProcesses.crashLosing} on the primary holding `key`'s slot and its replica. */
  crashPrimaryLosing(key: string, write: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

const PRIMARY_PORTS = [7000, 7001, 7002];
const PASSWORD = 'cluster-test-password';
const PORTS = [...PRIMARY_PORTS, 7003, 7004, 7005];

/*
 * Six cluster nodes in one container, each announcing the container's own
 * address, which this machine reaches through Docker's bridge; the slots are
 * spread over three primaries, each with one replica, by `redis-cli --cluster
 * create`. One container keeps the start fast; the nodes are separate
 * processes with their own slots, so MOVED, routing, cross-node pub/sub and
 * failover (a 1 s node timeout) are the real thing.
 */
const START = `
IP=$(hostname -i | awk '{print $1}')
export REDISCLI_AUTH=${PASSWORD}
for port in ${PORTS.join(' ')}; do
  redis-server --port $port --bind 0.0.0.0 --protected-mode no --cluster-enabled yes \\
    --cluster-config-file nodes-$port.conf --cluster-announce-ip $IP --cluster-node-timeout 1000 \\
    --requirepass ${PASSWORD} --masterauth ${PASSWORD} --save '' --appendonly no --dir /tmp --daemonize yes
done
for port in ${PORTS.join(' ')}; do until redis-cli -p $port ping > /dev/null 2>&1; do sleep 0.1; done; done
redis-cli --cluster create ${PORTS.map((p) => `$IP:${p}`).join(' ')} --cluster-replicas 1 --cluster-yes > /dev/null
for port in ${PORTS.join(' ')}; do
  until redis-cli -p $port cluster info | grep -q cluster_state:ok; do sleep 0.1; done
done
until [ "$(redis-cli -p 7000 cluster nodes | grep slave | grep -c connected)" -eq 3 ]; do sleep 0.1; done
for port in ${PORTS.slice(3).join(' ')}; do
  until redis-cli -p $port info replication | grep -q master_link_status:up; do sleep 0.1; done
done
echo "cluster ready at $IP"
exec tail -f /dev/null
`;

interface ClusterNode {
  address: string;
  primary: boolean;
  /** The primary's node id, for a replica. */
  replicates: string;
  id: string;
  alive: boolean;
  /** The slot ranges a primary holds. */
  slots: [number, number][];
}

export async function startRedisCluster(): Promise<TestRedisCluster> {
  const { container, ip } = await startRedisContainer(START, /cluster ready at/);
  const servers = new RedisProcesses(container, PASSWORD);
  const address = (port: number) => `${ip}:${port}`;

  /** CLUSTER NODES as some live node sees it. */
  const clusterNodes = async (): Promise<ClusterNode[]> => {
    for (const port of PORTS) {
      const text = await servers.cli('-p', String(port), 'cluster', 'nodes').catch(() => '');
      if (!text.includes('myself')) continue;
      return text.split('\n').map((line) => {
        const [id = '', node = '', flags = '', replicates = '', , , , , ...ranges] =
          line.split(' ');
        return {
          id,
          slots: ranges
            .filter((range) => /^\d/.test(range))
            .map((range) => {
              const [from, to = from] = range.split('-').map(Number);
              return [from ?? 0, to ?? 0] as [number, number];
            }),
          address: node.split('@')[0] ?? '',
          primary: flags.includes('master'),
          replicates,
          alive: !flags.includes('fail'),
        };
      });
    }
    throw new Error('no cluster node answers');
  };

  const primaryOf = async (key: string) => {
    const nodes = await clusterNodes();
    const live = nodes.find((n) => n.alive)?.address ?? address(PORTS[0] ?? 7000);
    const slot = Number(await servers.cli('-p', portOf(live), 'cluster', 'keyslot', key));
    const owner = nodes.find(
      (n) => n.primary && n.alive && n.slots.some(([from, to]) => slot >= from && slot <= to),
    );
    if (!owner) throw new Error(`no live primary holds slot ${slot}`);
    return owner.address;
  };

  const replicaOf = async (primary: string) => {
    const nodes = await clusterNodes();
    const id = nodes.find((n) => n.address === primary)?.id;
    const replica = nodes.find((n) => !n.primary && n.replicates === id && n.alive);
    if (!replica) throw new Error(`${primary} has no live replica`);
    return replica.address;
  };

  return {
    nodes: PRIMARY_PORTS.map(address),
    password: PASSWORD,
    container,
    primaryOf,
    replicaOf,
    nodesWithSubscribers: async () => {
      const found: string[] = [];
      for (const port of PORTS) {
        const clients = await servers
          .cli('-p', String(port), 'client', 'list', 'type', 'pubsub')
          .catch(() => '');
        if (clients.length > 0) found.push(address(port));
      }
      return found;
    },
    crash: (node) => servers.crash(portOf(node)),
    moveSlotOf: async (key, to, between) => {
      const nodes = await clusterNodes();
      const from = await primaryOf(key);
      const [source, target] = [from, to].map((a) => nodes.find((n) => n.address === a));
      if (!source || !target) throw new Error(`${from} or ${to} is not a cluster node`);
      const on = (node: ClusterNode, ...args: string[]) =>
        servers.cli('-p', portOf(node.address), ...args);
      const slot = await on(source, 'cluster', 'keyslot', key);
      await on(target, 'cluster', 'setslot', slot, 'importing', source.id);
      await on(source, 'cluster', 'setslot', slot, 'migrating', target.id);
      await between?.();
      for (;;) {
        const keys = (await on(source, 'cluster', 'getkeysinslot', slot, '100'))
          .split('\n')
          .filter((k) => k !== '');
        if (keys.length === 0) break;
        await on(
          source,
          'migrate',
          ...target.address.split(':'),
          '',
          '0',
          '5000',
          'auth',
          PASSWORD,
          'keys',
          ...keys,
        );
      }
      for (const node of nodes.filter((n) => n.primary && n.alive))
        await on(node, 'cluster', 'setslot', slot, 'node', target.id);
    },
    commandCounts: async () => {
      const counts: Record<string, number> = {};
      for (const node of (await clusterNodes()).filter((n) => n.primary && n.alive)) {
        const info = await servers.cli('-p', portOf(node.address), 'info', 'commandstats');
        for (const [, name = '', calls = '0'] of info.matchAll(
          /^cmdstat_(\w+(?:\|\w+)?):calls=(\d+)/gm,
        ))
          counts[name] = (counts[name] ?? 0) + Number(calls);
      }
      return counts;
    },
    crashPrimaryLosing: async (key, write) => {
      const primary = await primaryOf(key);
      const replica = await replicaOf(primary);
      await servers.crashLosing(
        { primaryPort: portOf(primary), replicaPort: portOf(replica), fillerKey: `${key}:filler` },
        write,
      );
    },
    stop: async () => {
      await container.stop({ timeout: 0 });
    },
  };
}
