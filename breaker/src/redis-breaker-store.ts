import calculateSlot from 'cluster-key-slot';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { BreakerKeys } from './breaker-keys';
import type { ConsecutiveTrip, OpenSettings, QuorumVote, RateTrip } from './breaker-options';
import {
  ACQUIRE_PROBE,
  ALL_SCRIPTS,
  END_ISOLATION,
  FORCE,
  READ,
  RECORD_CONSECUTIVE,
  RECORD_RATE,
  RELEASE_PROBE,
} from './breaker-scripts';
import {
  parseScriptReply,
  parseStateMessage,
  type ScriptReply,
  type StateMessage,
  type Term,
} from './breaker-state';
import {
  StoreMisconfiguredError,
  type BreakerStore,
  type BucketCounts,
  type ChannelSubscription,
  type OutcomeRun,
  type ProbeRelease,
} from './breaker-store';
import type { RedisScript } from './redis-script';
import { RoamingSubscriber } from './roaming-subscriber';
import { serverProblem } from './server-check';

/**
 * The longest wait between two attempts to reconnect to Redis: shorter than
 * a sync interval, so a replica is back on the shared state soon after Redis
 * is (an attempt is a TCP connect; a handful per second per replica is
 * nothing to a Redis that is down).
 */
export const RECONNECT_MAX_MS = 200;

const reconnectDelayMs = (attempt: number) => Math.min(50 * 2 ** attempt, RECONNECT_MAX_MS);

export interface BreakerStoreOptions {
  /** Time budget of one store operation; past it the operation fails and the breaker degrades. */
  operationTimeoutMs?: number;
  connectTimeoutMs?: number;
}

/**
 * Where the breaker's state lives: a standalone Redis (its URL, as a string
 * or `{ url }`), or a Redis Cluster (seed nodes, `host:port`; the client
 * learns the others and routes every script by the breaker's slot).
 */
export type RedisConnection =
  | string
  | { url: string }
  | { clusterNodes: readonly string[]; username?: string; password?: string }
  | SentinelConnection;

/** How a {@link RedisBreakerStore} reaches Redis. */
export type RedisTopology = 'standalone' | 'sentinel' | 'cluster';

const topologyOf = (connection: RedisConnection): RedisTopology => {
  if (typeof connection === 'string' || 'url' in connection) return 'standalone';
  return 'sentinels' in connection ? 'sentinel' : 'cluster';
};

/**
 * A primary watched by Redis Sentinel: the client asks the sentinels where
 * the primary is, and again after a failover.
 */
export interface SentinelConnection {
  /** The sentinels, `host:port`. */
  sentinels: readonly string[];
  /** The name the sentinels know the primary by. */
  name: string;
  sentinelPassword?: string;
  username?: string;
  password?: string;
}

function hostAndPort(node: string): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(node);
  if (!match) throw new RangeError(`a node is host:port (got ${JSON.stringify(node)})`);
  return { host: match[1] as string, port: Number(match[2]) };
}

/**
 * An ioredis client for `connection`: a `Redis` for a URL or a Sentinel set,
 * a `Cluster` for cluster nodes. `options` apply to every connection it
 * makes; its `retryStrategy` also paces asking the sentinels again and
 * reconnecting to the cluster.
 */
export function redisClientFor(
  connection: RedisConnection,
  options: RedisOptions,
): Redis | Cluster {
  if (typeof connection === 'string') return new Redis(connection, options);
  if ('url' in connection) return new Redis(connection.url, options);
  if ('sentinels' in connection) {
    const { sentinels, name, sentinelPassword, username, password } = connection;
    if (sentinels.length === 0) throw new RangeError('sentinels names no sentinel');
    return new Redis({
      ...options,
      sentinels: sentinels.map(hostAndPort),
      name,
      sentinelPassword,
      username,
      password,
      sentinelRetryStrategy: options.retryStrategy ?? undefined,
    });
  }
  const { clusterNodes, username, password } = connection;
  if (clusterNodes.length === 0) throw new RangeError('clusterNodes names no node');
  // Queueing, retrying and when to connect are the cluster client's, not each node's: with
  // nodes told to connect at once (lazyConnect false) and no offline queue, a cluster whose
  // nodes announce host names never became ready (seen on docker-compose.cluster.yml).
  const { enableOfflineQueue, retryStrategy } = options;
  const nodeOptions: RedisOptions = { ...options };
  delete nodeOptions.enableOfflineQueue;
  delete nodeOptions.retryStrategy;
  delete nodeOptions.lazyConnect;
  const clusterOptions: ClusterOptions = {
    redisOptions: { ...nodeOptions, username, password },
    enableOfflineQueue: enableOfflineQueue ?? true,
    // The client's own retries would hold a caller past the budget: the caller retries.
    maxRedirections: 3,
    clusterRetryStrategy: retryStrategy ?? undefined,
    slotsRefreshTimeout: options.connectTimeout ?? 2_000,
  };
  return new Cluster(clusterNodes.map(hostAndPort), clusterOptions);
}

/**
 * The pub/sub connection: on Cluster, one node at a time, moving to another
 * (any node hears every classic PUBLISH) when its node goes away.
 */
function subscriberFor(
  connection: RedisConnection,
  commands: Redis | Cluster,
  options: RedisOptions,
): Redis | RoamingSubscriber {
  if (typeof connection === 'string' || !('clusterNodes' in connection))
    return redisClientFor(connection, options) as Redis;
  const { clusterNodes, username, password } = connection;
  const seeds = clusterNodes.map(hostAndPort);
  // The nodes the command connection knows now (promoted replicas included), else the seeds.
  const known = () => {
    const nodes = (commands instanceof Cluster ? commands.nodes('all') : []).map(
      ({ options: { host, port } }) => ({
        host: host ?? 'localhost',
        port: port ?? 6379,
      }),
    );
    return nodes.length > 0 ? nodes : seeds;
  };
  return new RoamingSubscriber(known, { ...options, username, password }, reconnectDelayMs);
}

/**
 * The breaker's access to Redis: one connection for scripts, one for pub/sub
 * (a subscribed connection can run nothing else). Commands never queue
 * while Redis is away and never wait longer than the time budget, so a slow
 * or dead Redis costs a caller at most one budget before the breaker
 * degrades to its local fallback.
 *
 * One store serves every breaker of a process.
 */
export class RedisBreakerStore implements BreakerStore {
  /** The budget of one store operation, in milliseconds. */
  readonly operationTimeoutMs: number;
  readonly topology: RedisTopology;
  readonly #commands: Redis | Cluster;
  readonly #subscriber: Redis | RoamingSubscriber;
  readonly #channels = new Map<string, Set<ChannelSubscription>>();
  readonly #sentinel: SentinelConnection | undefined;
  readonly #connectTimeoutMs: number;
  /** The check that Redis is recent enough, and not a cluster node behind a standalone URL. */
  #serverCheck: Promise<void> | undefined;
  /** A Sentinel connection's check that some sentinel knows the primary's name (rejects if none does). */
  #primaryNameCheck: Promise<void> | undefined;

  constructor(
    connection: RedisConnection,
    { operationTimeoutMs = 100, connectTimeoutMs = 2_000 }: BreakerStoreOptions = {},
  ) {
    this.topology = topologyOf(connection);
    this.#sentinel =
      typeof connection !== 'string' && 'sentinels' in connection ? connection : undefined;
    this.#connectTimeoutMs = connectTimeoutMs;
    this.operationTimeoutMs = operationTimeoutMs;
    const common: RedisOptions = {
      connectTimeout: connectTimeoutMs,
      // Reconnects soon after Redis is back: until then this replica decides alone.
      retryStrategy: reconnectDelayMs,
      lazyConnect: false,
    };
    this.#commands = redisClientFor(connection, {
      ...common,
      commandTimeout: operationTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    // Subscriptions are made here on every `ready`, never while the connection is still
    // handshaking: a SUBSCRIBE sent then makes ioredis's ready check fail and is forgotten.
    this.#subscriber = subscriberFor(connection, this.#commands, {
      ...common,
      autoResubscribe: false,
      maxRetriesPerRequest: null,
    });
    // Errors are seen where the store is used; without a listener ioredis would print them.
    this.#commands.on('error', () => undefined);
    this.#subscriber.on('error', () => undefined);
    // Loaded on every connection, so that scripts off the call path take one round trip
    // even after a Redis restart; a failure here is repaired by EVALSHA's fallback.
    this.#commands.on('ready', () => {
      for (const script of ALL_SCRIPTS) void script.load(this.#commands).catch(() => undefined);
    });
    this.#subscriber.on('ready', () => {
      const channels = [...this.#channels.keys()];
      if (channels.length > 0) void this.#subscribe(channels);
    });
    this.#subscriber.on('close', () => {
      for (const subscriptions of this.#channels.values())
        for (const subscription of subscriptions) subscription.onLost?.();
    });
    this.#subscriber.on('message', (channel: string, payload: string) => {
      const subscriptions = this.#channels.get(channel);
      if (!subscriptions) return;
      let message: StateMessage;
      try {
        message = parseStateMessage(payload);
      } catch {
        return; // Not ours; the periodic read will correct any gap.
      }
      for (const subscription of subscriptions) subscription.onMessage(message);
    });
  }

  /**
   * Resolves once the command connection is up (or rejects after the connect
   * timeout). Rejects with {@link StoreMisconfiguredError} when Redis is
   * older than 7.0 (the scripts declare flags), or when a standalone URL
   * reaches a Redis Cluster node: every script on a breaker whose slot lives
   * elsewhere would fail, and the breaker would decide alone forever.
   */
  async ready(): Promise<void> {
    if (this.#sentinel) {
      // Asked beside connecting, and answered in a round trip: a wrong name must show before
      // the connect timeout (and the breaker's start, which waits no longer) runs out.
      const named = (this.#primaryNameCheck ??= this.#checkPrimaryName(this.#sentinel));
      await Promise.race([this.#connected(), named.then(() => this.#connected())]);
    } else {
      await this.#connected();
    }
    // Asked once for the store, not once for each breaker that starts on it.
    await (this.#serverCheck ??= this.#checkServer());
  }

  async #checkServer(): Promise<void> {
    const info = await this.#commands.info().catch(() => undefined);
    if (info === undefined) {
      // A server that will not say (an ACL without INFO) is taken as fit, and asked again
      // the next time.
      this.#serverCheck = undefined;
      return;
    }
    const problem = serverProblem(info, this.topology === 'standalone');
    if (problem !== undefined) throw new StoreMisconfiguredError(problem);
  }

  /** A primary name no sentinel knows is a mistake to fix, not an outage: say so. */
  async #checkPrimaryName({ sentinels, name, sentinelPassword }: SentinelConnection) {
    for (const sentinel of sentinels) {
      const client = new Redis({
        ...hostAndPort(sentinel),
        password: sentinelPassword,
        connectTimeout: this.#connectTimeoutMs,
        // A sentinel that accepts the connection and never answers (paused) is skipped too.
        commandTimeout: this.#connectTimeoutMs,
        enableReadyCheck: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        lazyConnect: true,
      });
      client.on('error', () => undefined);
      try {
        await client.connect();
        const address = await client.call('SENTINEL', 'get-master-addr-by-name', name);
        if (address === null)
          throw new StoreMisconfiguredError(
            `no sentinel at ${sentinel} knows a primary named ${JSON.stringify(name)}: ` +
              'check the primary name given to the breaker store',
          );
        return;
      } catch (error) {
        if (error instanceof StoreMisconfiguredError) throw error;
        // This sentinel is down: ask the next one.
      } finally {
        client.disconnect();
      }
    }
  }

  async #connected(): Promise<void> {
    if (this.#commands.status === 'ready') return;
    await new Promise<void>((resolve, reject) => {
      const onReady = () => {
        cleanup();
        resolve();
      };
      const onEnd = () => {
        cleanup();
        reject(new Error('redis connection ended'));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error('redis did not become ready in time'));
      }, this.#connectTimeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#commands.off('ready', onReady);
        this.#commands.off('end', onEnd);
      };
      this.#commands.once('ready', onReady);
      this.#commands.once('end', onEnd);
    });
  }

  /**
   * Follows `channel`. `onSubscribed` runs each time Redis confirms the
   * subscription: at first, and after every reconnection. Returns a
   * function that ends this subscription (calling it twice is harmless).
   */
  subscribe(channel: string, subscription: ChannelSubscription): () => void {
    let subscriptions = this.#channels.get(channel);
    if (!subscriptions) {
      subscriptions = new Set();
      this.#channels.set(channel, subscriptions);
      if (this.#subscriber.status === 'ready') void this.#subscribe([channel]);
    } else if (this.#subscriber.status === 'ready') {
      subscription.onSubscribed?.();
    }
    subscriptions.add(subscription);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      subscriptions.delete(subscription);
      if (subscriptions.size === 0 && this.#channels.get(channel) === subscriptions) {
        this.#channels.delete(channel);
        if (this.#subscriber.status === 'ready')
          void this.#subscriber.unsubscribe(channel).catch(() => undefined);
      }
    };
  }

  /**
   * The server the command connection reaches for this breaker: on Cluster
   * the primary of the breaker's slot as the client's slot map has it, else
   * the connection's peer (after a Sentinel failover, the new primary).
   */
  serverOf(keys: BreakerKeys): string | undefined {
    const client = this.#commands;
    if (client instanceof Cluster) return client.slots[calculateSlot(keys.state)]?.[0];
    if (client.status !== 'ready') return undefined;
    const { remoteAddress, remotePort } = client.stream;
    return remoteAddress === undefined ? undefined : `${remoteAddress}:${remotePort}`;
  }

  read(keys: BreakerKeys): Promise<ScriptReply> {
    return this.#run(READ, keys, []);
  }

  recordConsecutive(
    keys: BreakerKeys,
    term: Term,
    runs: readonly OutcomeRun[],
    trip: ConsecutiveTrip,
    open: OpenSettings,
    vote?: QuorumVote,
  ): Promise<ScriptReply> {
    const encoded = runs.map((run) => `${run.kind === 'success' ? 's' : 'f'}${run.count}`);
    return this.#run(RECORD_CONSECUTIVE, keys, [
      term.incarnation,
      term.epoch,
      encoded.join(','),
      trip.threshold,
      open.openMs,
      open.maxOpenMs,
      open.backoffFactor,
      ...voteArgs(vote),
    ]);
  }

  /** `settleMs`: how long after a bucket ends every replica has reported it. */
  recordRate(
    keys: BreakerKeys,
    term: Term,
    buckets: readonly BucketCounts[],
    trip: RateTrip,
    settleMs: number,
    open: OpenSettings,
    vote?: QuorumVote,
  ): Promise<ScriptReply> {
    const encoded = buckets.map((b) => `${b.bucket}:${b.successes}:${b.failures}`);
    return this.#run(RECORD_RATE, keys, [
      term.incarnation,
      term.epoch,
      encoded.join(','),
      trip.thresholdPpm,
      trip.minCalls,
      trip.bucketMs,
      trip.buckets,
      Math.ceil(settleMs),
      open.openMs,
      open.maxOpenMs,
      open.backoffFactor,
      ...voteArgs(vote),
    ]);
  }

  /** On a caller's path: one round trip, so it never costs more than one budget. */
  acquireProbe(keys: BreakerKeys, token: string, leaseMs: number): Promise<ScriptReply> {
    return this.#run(ACQUIRE_PROBE, keys, [token, leaseMs], { oneRoundTrip: true });
  }

  releaseProbe(
    keys: BreakerKeys,
    token: string,
    release: ProbeRelease,
    open: OpenSettings,
  ): Promise<ScriptReply> {
    return this.#run(RELEASE_PROBE, keys, [
      token,
      release,
      open.openMs,
      open.maxOpenMs,
      open.backoffFactor,
    ]);
  }

  force(
    keys: BreakerKeys,
    target: 'isolated' | 'closed',
    note = '',
    forMs = 0,
  ): Promise<ScriptReply> {
    return this.#run(FORCE, keys, [target, note, Math.ceil(forMs)]);
  }

  endIsolation(keys: BreakerKeys): Promise<ScriptReply> {
    return this.#run(END_ISOLATION, keys, []);
  }

  async close(): Promise<void> {
    this.#channels.clear();
    await Promise.all(
      [this.#commands, this.#subscriber].map(async (connection) => {
        // QUIT would wait for a connection that is not up; disconnecting also stops reconnecting.
        if (connection.status !== 'ready') {
          connection.disconnect();
          return;
        }
        await connection.quit().catch(() => {
          connection.disconnect();
        });
      }),
    );
  }

  async #subscribe(channels: string[]): Promise<void> {
    try {
      await this.#subscriber.subscribe(...channels);
    } catch {
      return; // The connection dropped; the next `ready` subscribes again.
    }
    for (const channel of channels) {
      for (const subscription of this.#channels.get(channel) ?? []) subscription.onSubscribed?.();
    }
  }

  async #run(
    script: RedisScript<string>,
    keys: BreakerKeys,
    args: (string | number)[],
    { oneRoundTrip = false } = {},
  ): Promise<ScriptReply> {
    const scriptKeys = [keys.state, keys.window, keys.probe, keys.voters];
    const scriptArgs = [keys.channel, ...args];
    const json = oneRoundTrip
      ? await script.eval(this.#commands, scriptKeys, scriptArgs)
      : await script.run(this.#commands, scriptKeys, scriptArgs);
    return parseScriptReply(json);
  }
}

/** The scripts' quorum arguments: replica, quorum, window, tripped (a quorum of 0 is none). */
const voteArgs = (vote: QuorumVote | undefined): (string | number)[] =>
  vote === undefined
    ? ['', 0, 0, 0]
    : [vote.replica, vote.replicas, vote.windowMs, vote.tripped ? 1 : 0];
