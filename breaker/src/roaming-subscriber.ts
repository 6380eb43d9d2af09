import { EventEmitter } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';

/**
 * One pub/sub connection to a Redis Cluster that moves to another node when
 * its node goes away, and says so: `close` when the connection is lost,
 * `ready` once it is up on a node again (subscriptions are then the
 * caller's to make), `message` for every message.
 *
 * Classic `PUBLISH` reaches every node of a cluster, so any node serves. It
 * is not ioredis's cluster subscriber because that one moves to another
 * node silently: messages published in between are lost and nobody knows,
 * where a breaker must know to stop trusting its view.
 */
export class RoamingSubscriber extends EventEmitter {
  #connection: Redis | undefined;
  /** Which node to try next; a random start spreads replicas over the nodes. */
  #next = Math.floor(Math.random() * 1_000);
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #ended = false;

  /**
   * @param nodes - the nodes to try now, `host:port` (asked again before each move).
   * @param options - connection options for each node.
   * @param retryDelayMs - the wait before trying the next node after `attempt` failures.
   */
  constructor(
    private readonly nodes: () => readonly { host: string; port: number }[],
    private readonly options: RedisOptions,
    private readonly retryDelayMs: (attempt: number) => number,
  ) {
    super();
    this.#connect();
  }

  /** `ready` while subscribed-capable on a node; anything else while moving or ended. */
  get status(): string {
    return this.#ended ? 'end' : (this.#connection?.status ?? 'connecting');
  }

  async subscribe(...channels: string[]): Promise<void> {
    if (!this.#connection) throw new Error('the subscriber is between nodes');
    await this.#connection.subscribe(...channels);
  }

  async unsubscribe(...channels: string[]): Promise<void> {
    if (!this.#connection) throw new Error('the subscriber is between nodes');
    await this.#connection.unsubscribe(...channels);
  }

  async quit(): Promise<void> {
    this.#ended = true;
    clearTimeout(this.#timer);
    await this.#connection?.quit();
  }

  disconnect(): void {
    this.#ended = true;
    clearTimeout(this.#timer);
    this.#connection?.disconnect();
  }

  #connect(): void {
    const nodes = this.nodes();
    const node = nodes[this.#next++ % nodes.length];
    if (!node) throw new RangeError('no cluster node to subscribe on');
    const connection = new Redis({
      ...this.options,
      ...node,
      // A lost node is left for the next one, not waited for.
      retryStrategy: () => null,
      autoResubscribe: false,
      lazyConnect: false,
    });
    this.#connection = connection;
    connection.on('error', (error: unknown) => this.emit('error', error));
    connection.on('message', (channel: string, payload: string) =>
      this.emit('message', channel, payload),
    );
    let wasReady = false;
    connection.once('ready', () => {
      wasReady = true;
      this.#attempt = 0;
      this.emit('ready');
    });
    connection.once('end', () => {
      if (this.#connection !== connection) return;
      this.#connection = undefined;
      if (wasReady) this.emit('close');
      if (this.#ended) return;
      this.#timer = setTimeout(() => {
        this.#connect();
      }, this.retryDelayMs(this.#attempt++));
      this.#timer.unref();
    });
  }
}
