import { Redis } from 'ioredis';
import {
  startRedis,
  Teardown,
  waitFor,
  watchEventLoop,
  type EventLoopWatch,
  type TestRedis,
} from '@cb-lab/testing';
import type { SharedCircuitBreakerOptions } from './breaker-options';
import type { StateMessage } from './breaker-state';
import { RedisBreakerStore, type RedisConnection } from './redis-breaker-store';
import { SharedCircuitBreaker } from './shared-circuit-breaker';

export type ReplicaOptions = Partial<SharedCircuitBreakerOptions> & {
  /** Where the replicas' stores connect; the suite's Redis unless given. */
  connection?: RedisConnection;
  operationTimeoutMs?: number;
  connectTimeoutMs?: number;
};

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Lets the event loop turn once (pending I/O and immediates run). */
export const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

export const boom = () => Promise.reject(new Error('dependency down'));
export const ok = () => Promise.resolve('ok');

/** What a call gave: its value, or the error it threw. */
export async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    return await promise;
  } catch (error) {
    return error;
  }
}

let names = 0;

/**
 * A test file's real Redis (started before its tests, stopped after), the
 * event-loop delay measured meanwhile, and breakers against that Redis:
 * `count` replicas of one breaker, each with its own Redis connections, as
 * separate processes would have. Everything started is stopped at the end.
 */
export function useBreakerSuite() {
  const teardown = new Teardown();
  let started: TestRedis | undefined;
  let loop: EventLoopWatch | undefined;
  beforeAll(async () => {
    started = teardown.add(await startRedis(), (r) => r.stop());
    loop = watchEventLoop();
  });
  afterAll(async () => {
    loop?.stop();
    await teardown.run();
  });
  const redis = (): TestRedis => {
    if (!started) throw new Error('Redis is started in beforeAll');
    return started;
  };
  return {
    teardown,
    get redis() {
      return redis();
    },
    /** The longest the event loop was late so far in this file. */
    loopDelayMs: () => loop?.maxDelayMs() ?? 0,
    ...replicaFactory(teardown, () => redis().url),
    ...channelWatcher(teardown, redis),
  };
}

/**
 * Replicas of one breaker, each with its own store on `connection` (unless
 * a call gives another), stopped by `teardown`; and a way to open them.
 */
export function replicaFactory(teardown: Teardown, defaultConnection: () => RedisConnection) {
  async function replicas(
    count: number,
    { connection, operationTimeoutMs = 200, connectTimeoutMs, ...options }: ReplicaOptions = {},
  ): Promise<SharedCircuitBreaker[]> {
    const name = options.name ?? `test-${process.pid}-${++names}`;
    const breakers: SharedCircuitBreaker[] = [];
    for (let i = 0; i < count; i += 1) {
      const store = teardown.add(
        new RedisBreakerStore(connection ?? defaultConnection(), {
          operationTimeoutMs,
          connectTimeoutMs,
        }),
        (s) => s.close(),
      );
      const breaker = new SharedCircuitBreaker(store, {
        name,
        replica: `replica-${i + 1}`,
        trip: { mode: 'consecutive', threshold: 5 },
        openMs: 60_000,
        syncIntervalMs: 60_000,
        storeRetryMs: 100,
        ...options,
      });
      teardown.add(breaker, async (b) => {
        b.dispose();
        await Promise.resolve();
      });
      breakers.push(await breaker.start());
    }
    return breakers;
  }

  /** Opens the shared breaker through failures on `breaker` and waits until every replica knows. */
  async function tripOpen(
    breaker: SharedCircuitBreaker,
    all: SharedCircuitBreaker[],
    failures = 5,
  ): Promise<void> {
    for (let i = 0; i < failures; i += 1) await outcome(breaker.execute(boom));
    await breaker.flush();
    await waitFor(() => all.every((b) => b.state === 'open'), 'every replica to see open');
  }

  return { replicas, tripOpen };
}

function channelWatcher(teardown: Teardown, redis: () => TestRedis) {
  /** Every message Redis announces on a breaker's channel, read on a connection of its own. */
  async function watchChannel(channel: string): Promise<StateMessage[]> {
    const subscriber = teardown.add(new Redis(redis().url), (r) => r.quit());
    const messages: StateMessage[] = [];
    subscriber.on('message', (_channel: string, payload: string) =>
      messages.push(JSON.parse(payload) as StateMessage),
    );
    await subscriber.subscribe(channel);
    return messages;
  }

  return { watchChannel };
}
