/**
 * Classic against sharded pub/sub on a real Redis Cluster (three primaries,
 * three replicas), side by side in one run: how long a breaker's message
 * takes to reach a subscriber, and what a burst of messages costs the
 * cluster's nodes in CPU. Classic `PUBLISH` is relayed by the cluster bus to
 * every node, so the subscriber sits on another node than the channel's
 * slot; sharded `SPUBLISH` stays on the slot's shard, so it sits on the
 * slot's primary, as each would in use.
 *
 *   npm run bench:pubsub        (BENCH_MESSAGES=2000 BENCH_ROUNDS=5 by default)
 */
import { performance } from 'node:perf_hooks';
import { startRedisCluster, type TestRedisCluster } from '@cb-lab/testing';
import { Redis } from 'ioredis';
import { summarize } from '@cb-lab/load-generator';
import { describeMachine, redisVersionOf } from './machine';
import { writeSection } from './report';
import { log, runBenchmark } from './run';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** A breaker's channel; its slot decides the shard. */
const CHANNEL = '{cb:payment-gateway}:events';
/** About the size of a breaker's state message. */
const PAYLOAD = JSON.stringify({ state: 'x'.repeat(300) });

type Mode = 'classic PUBLISH' | 'sharded SPUBLISH';
const MODES: readonly Mode[] = ['classic PUBLISH', 'sharded SPUBLISH'];

interface Round {
  /** One message at a time: publish, wait for it to arrive. */
  latencyMs: number[];
  /** A burst of MESSAGES published back to back: until the last one arrives. */
  burstMs: number;
  /** CPU time all nodes spent during the burst (user + system). */
  clusterCpuMs: number;
}

const connectTo = (address: string, password: string) => {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), address.split(':').pop()];
  return new Redis({ host, port: Number(port), password, lazyConnect: false });
};

async function cpuMsOf(nodes: readonly Redis[]): Promise<number> {
  let total = 0;
  for (const node of nodes) {
    const info = await node.info('cpu');
    const user = Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0);
    const sys = Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
    total += (user + sys) * 1_000;
  }
  return total;
}

async function measure(
  mode: Mode,
  publisher: Redis,
  subscriber: Redis,
  allNodes: readonly Redis[],
): Promise<Round> {
  let received = 0;
  let onArrival: (() => void) | undefined;
  const listener = () => {
    received += 1;
    onArrival?.();
  };
  const event = mode === 'classic PUBLISH' ? 'message' : 'smessage';
  subscriber.on(event, listener);
  const publish = () =>
    mode === 'classic PUBLISH'
      ? publisher.publish(CHANNEL, PAYLOAD)
      : publisher.spublish(CHANNEL, PAYLOAD);
  const arrivals = (count: number) =>
    new Promise<void>((resolve) => {
      const target = received + count;
      onArrival = () => {
        if (received >= target) resolve();
      };
    });
  try {
    const latencyMs: number[] = [];
    for (let i = 0; i < MESSAGES / 10; i += 1) {
      const arrived = arrivals(1);
      const sentAt = performance.now();
      await publish();
      await arrived;
      latencyMs.push(performance.now() - sentAt);
    }
    const cpuBefore = await cpuMsOf(allNodes);
    const arrived = arrivals(MESSAGES);
    const startedAt = performance.now();
    for (let i = 0; i < MESSAGES; i += 1) void publish();
    await arrived;
    const burstMs = performance.now() - startedAt;
    return { latencyMs, burstMs, clusterCpuMs: (await cpuMsOf(allNodes)) - cpuBefore };
  } finally {
    subscriber.off(event, listener);
  }
}

async function main(): Promise<void> {
  const cluster: TestRedisCluster = await startRedisCluster();
  const connections: Redis[] = [];
  const open = (address: string) => {
    const connection = connectTo(address, cluster.password);
    connections.push(connection);
    return connection;
  };
  try {
    const owner = await cluster.primaryOf(CHANNEL);
    const other = cluster.nodes.find((node) => node !== owner) ?? owner;
    const allNodes = [
      ...cluster.nodes,
      ...(await Promise.all(cluster.nodes.map((node) => cluster.replicaOf(node)))),
    ].map(open);
    const machine = describeMachine(await redisVersionOf(open(owner)));
    log(
      `Pub/sub on a Redis Cluster of 3 primaries and 3 replicas (one container), ${MESSAGES} ` +
        `messages of ${PAYLOAD.length} bytes per burst × ${ROUNDS} rounds, on ${machine}\n`,
    );
    const publisher = open(owner);
    const classicSubscriber = open(other);
    await classicSubscriber.subscribe(CHANNEL);
    const shardedSubscriber = open(owner);
    await shardedSubscriber.ssubscribe(CHANNEL);
    const subscriberOf: Record<Mode, Redis> = {
      'classic PUBLISH': classicSubscriber,
      'sharded SPUBLISH': shardedSubscriber,
    };

    const rounds = new Map<Mode, Round[]>(MODES.map((mode) => [mode, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      // The modes take turns within a round, so a noisy moment hurts them alike.
      for (const mode of MODES)
        rounds.get(mode)?.push(await measure(mode, publisher, subscriberOf[mode], allNodes));
    }

    const median = (values: number[]) => summarize(values).p50;
    const rows = MODES.map((mode) => {
      const all = rounds.get(mode) ?? [];
      const latency = summarize(all.flatMap((r) => r.latencyMs));
      return {
        mode,
        p50: latency.p50,
        p99: latency.p99,
        perSecond: MESSAGES / (median(all.map((r) => r.burstMs)) / 1_000),
        cpuUsPerMessage: (median(all.map((r) => r.clusterCpuMs)) * 1_000) / MESSAGES,
      };
    });
    const classic = rows[0];
    const table = [
      '| mode | delivery p50 (ms) | delivery p99 (ms) | burst, messages/s | cluster CPU per message (µs) | CPU ÷ classic |',
      '| --- | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map(
        (r) =>
          `| ${r.mode} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${Math.round(r.perSecond)} | ${r.cpuUsPerMessage.toFixed(1)} | ${(r.cpuUsPerMessage / (classic?.cpuUsPerMessage ?? 1)).toFixed(2)} |`,
      ),
    ].join('\n');
    log(table);
    await writeSection(
      'pubsub',
      [
        `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}: a Redis Cluster of three primaries and three replicas in one container; a ${PAYLOAD.length}-byte message on a breaker's channel. Delivery: ${MESSAGES / 10} messages one at a time per round, publish to arrival. Burst: ${MESSAGES} messages back to back, until the last arrives; cluster CPU is the sum of \`used_cpu_user + used_cpu_sys\` over the six nodes during the burst. ${ROUNDS} rounds, the modes taking turns; medians (latency percentiles over all rounds). The classic subscriber sits on another primary than the channel's slot, the sharded one on the slot's primary.`,
        '',
        table,
      ].join('\n'),
    );
  } finally {
    for (const connection of connections) connection.disconnect();
    await cluster.stop();
  }
}

runBenchmark('bench:pubsub', main);
