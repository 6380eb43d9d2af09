import { Redis, type RedisOptions } from 'ioredis';
import type { BreakerKeys } from './breaker-keys';
import {
  ACQUIRE_PROBE,
  FORCE,
  READ,
  RECORD,
  RELEASE_PROBE,
  type BreakerScript,
} from './breaker-scripts';
import { parseSharedState, type ScriptReply, type StateMessage } from './breaker-state';

/** How a breaker's state machine is tuned; sent with every script that may open it. */
export interface TripSettings {
  mode: 'consecutive' | 'rate';
  /** Consecutive failures (consecutive mode) or failure ratio from 0 to 1 (rate mode). */
  threshold: number;
  minCalls: number;
  windowMs: number;
  bucketMs: number;
  openMs: number;
  maxOpenMs: number;
  backoffFactor: number;
}

export interface BreakerStoreOptions {
  /** Time budget of one store operation; past it the operation fails and the breaker degrades. */
  operationTimeoutMs?: number;
  connectTimeoutMs?: number;
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
export class RedisBreakerStore {
  readonly #commands: Redis;
  readonly #subscriber: Redis;
  readonly #handlers = new Map<string, Set<(message: StateMessage) => void>>();

  constructor(
    url: string,
    { operationTimeoutMs = 100, connectTimeoutMs = 2_000 }: BreakerStoreOptions = {},
  ) {
    const common: RedisOptions = {
      connectTimeout: connectTimeoutMs,
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 1_000),
      lazyConnect: false,
    };
    this.#commands = new Redis(url, {
      ...common,
      commandTimeout: operationTimeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    });
    // The subscriber may queue its SUBSCRIBE until connected, and resubscribes after a reconnect.
    this.#subscriber = new Redis(url, {
      ...common,
      autoResubscribe: true,
      maxRetriesPerRequest: null,
    });
    // Errors are seen where the store is used; without a listener ioredis would print them.
    this.#commands.on('error', () => undefined);
    this.#subscriber.on('error', () => undefined);
    this.#subscriber.on('message', (channel: string, payload: string) => {
      const handlers = this.#handlers.get(channel);
      if (!handlers) return;
      let message: StateMessage;
      try {
        const raw = JSON.parse(payload) as {
          state: unknown;
          now: unknown;
          from?: StateMessage['from'];
          reason?: string;
        };
        message = { ...raw, state: parseSharedState(raw.state), now: Number(raw.now) };
      } catch {
        return; // Not ours; the periodic read will correct any gap.
      }
      for (const handler of handlers) handler(message);
    });
  }

  /** Resolves once the command connection is up (or rejects after the connect timeout). */
  async ready(): Promise<void> {
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
      }, this.#commands.options.connectTimeout ?? 2_000);
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
   * Calls `handler` with every message on `channel`. `subscribed` settles once
   * Redis confirmed the subscription (it waits while Redis is away).
   */
  subscribe(
    channel: string,
    handler: (message: StateMessage) => void,
  ): { subscribed: Promise<unknown>; unsubscribe: () => void } {
    let handlers = this.#handlers.get(channel);
    let subscribed: Promise<unknown> = Promise.resolve();
    if (!handlers) {
      handlers = new Set();
      this.#handlers.set(channel, handlers);
      subscribed = this.#subscriber.subscribe(channel).catch(() => undefined);
    }
    handlers.add(handler);
    const unsubscribe = () => {
      handlers.delete(handler);
      if (handlers.size === 0) {
        this.#handlers.delete(channel);
        void this.#subscriber.unsubscribe(channel).catch(() => undefined);
      }
    };
    return { subscribed, unsubscribe };
  }

  read(keys: BreakerKeys): Promise<ScriptReply> {
    return this.#run(READ, keys, []);
  }

  record(
    keys: BreakerKeys,
    epoch: number,
    successes: number,
    failures: number,
    trip: TripSettings,
  ): Promise<ScriptReply> {
    return this.#run(RECORD, keys, [
      epoch,
      successes,
      failures,
      trip.mode,
      trip.threshold,
      trip.minCalls,
      trip.windowMs,
      trip.bucketMs,
      trip.openMs,
      trip.maxOpenMs,
      trip.backoffFactor,
    ]);
  }

  acquireProbe(keys: BreakerKeys, token: string, leaseMs: number): Promise<ScriptReply> {
    return this.#run(ACQUIRE_PROBE, keys, [token, leaseMs]);
  }

  releaseProbe(
    keys: BreakerKeys,
    token: string,
    outcome: 'success' | 'failure',
    trip: TripSettings,
  ): Promise<ScriptReply> {
    return this.#run(RELEASE_PROBE, keys, [
      token,
      outcome,
      trip.openMs,
      trip.maxOpenMs,
      trip.backoffFactor,
    ]);
  }

  force(keys: BreakerKeys, target: 'isolated' | 'closed', reason: string): Promise<ScriptReply> {
    return this.#run(FORCE, keys, [target, reason]);
  }

  async close(): Promise<void> {
    this.#handlers.clear();
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

  async #run(
    script: BreakerScript,
    keys: BreakerKeys,
    args: (string | number)[],
  ): Promise<ScriptReply> {
    const json = await script.run(
      this.#commands,
      [keys.state, keys.window, keys.probe],
      [keys.channel, ...args],
    );
    const raw = JSON.parse(json) as Omit<ScriptReply, 'state'> & { state: unknown };
    return { ...raw, state: parseSharedState(raw.state) };
  }
}
