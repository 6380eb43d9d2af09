import { captureLogger, startRedis, Teardown, type TestRedis } from '@cb-lab/testing';
import type { Redis } from 'ioredis';
import { QueueWorker, type QueueWorkerOptions, type WorkResult } from './queue-worker';
import { DurableWorkQueue, workQueueKeys } from './work-queue';

jest.setTimeout(60_000);

const teardown = new Teardown();
let redis: TestRedis;
let admin: Redis;

beforeAll(async () => {
  redis = teardown.add(await startRedis(), (r) => r.stop());
  admin = redis.connect();
});
afterAll(() => teardown.run());
beforeEach(() => admin.flushall());

const KEYS = workQueueKeys('test', 'work', 'worker');

/** A worker on the test Redis, driven by `runOnce()`, whose work is `work`. */
function workerWith(
  work: (id: string) => Promise<WorkResult>,
  options: Partial<QueueWorkerOptions> = {},
) {
  const log = captureLogger();
  const queue = new DurableWorkQueue(admin, KEYS);
  const givenUp: string[] = [];
  const worker = new QueueWorker({
    queue,
    name: 'test item',
    idField: 'itemId',
    work,
    giveUp: (id) => {
      givenUp.push(id);
      return Promise.resolve();
    },
    intervalMs: 60_000,
    itemTimeoutMs: 1_000,
    batch: 10,
    logger: log.logger,
    ...options,
  });
  return { worker, queue, givenUp, log };
}

async function enqueue(queue: DurableWorkQueue, ids: string[]): Promise<void> {
  // One millisecond apart, so the line's order is the order given.
  for (const [i, id] of ids.entries()) await admin.zadd(KEYS.items, Date.now() - 1_000 + i, id);
  expect(await queue.due(100)).toEqual(ids);
}

describe('QueueWorker', () => {
  it('finishes what is done and leaves the rest in line, in order', async () => {
    const { worker, queue } = workerWith((id) =>
      Promise.resolve(id.startsWith('done') ? 'done' : 'not yet'),
    );
    await enqueue(queue, ['done-1', 'waiting-1', 'done-2', 'waiting-2']);

    expect(await worker.runOnce()).toBe(2);
    expect(await queue.due(100)).toEqual(['waiting-1', 'waiting-2']);
  });

  it('moves an item that is not ready yet behind the others, so a full batch of them starves nothing', async () => {
    const seen: string[] = [];
    const { worker, queue } = workerWith(
      (id) => {
        seen.push(id);
        return Promise.resolve(id === 'ready' ? 'done' : 'not yet');
      },
      { batch: 2 },
    );
    await enqueue(queue, ['waiting-1', 'waiting-2', 'ready']);

    expect(await worker.runOnce()).toBe(0);
    expect(await worker.runOnce()).toBe(1);
    // The second round starts with the one that was behind them.
    expect(seen).toEqual(['waiting-1', 'waiting-2', 'ready', 'waiting-1']);
  });

  it('ends the round when what the work needs is away, counting nothing against the item', async () => {
    const seen: string[] = [];
    const { worker, queue } = workerWith((id) => {
      seen.push(id);
      return Promise.resolve('unreachable');
    });
    await enqueue(queue, ['a', 'b']);

    expect(await worker.runOnce()).toBe(0);
    expect(seen).toEqual(['a']);
    expect(await queue.attemptsOf('a')).toBe(0);
    expect(await queue.due(100)).toEqual(['a', 'b']);
  });

  it('retries an item that throws with a growing backoff while the ones behind go on, then gives it up', async () => {
    const { worker, queue, givenUp, log } = workerWith(
      (id) =>
        id === 'poison' ? Promise.reject(new Error('cannot read it')) : Promise.resolve('done'),
      { intervalMs: 20, maxAttempts: 3 },
    );
    await enqueue(queue, ['poison', 'good-1', 'good-2']);

    const before = Date.now();
    expect(await worker.runOnce()).toBe(2);
    expect(await queue.size()).toBe(1);
    expect(await queue.attemptsOf('poison')).toBe(1);
    // Not due again before its backoff.
    expect(Number(await admin.zscore(KEYS.items, 'poison'))).toBeGreaterThanOrEqual(before + 20);
    while ((await queue.size()) > 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      await worker.runOnce();
    }

    expect(givenUp).toEqual(['poison']);
    expect(await admin.exists(KEYS.attempts)).toBe(0);
    const lines = log.lines().filter((line) => line.itemId === 'poison');
    expect(lines.map((line) => [line.level, line.message, line.retryInMs])).toEqual([
      ['warn', 'test item failed unexpectedly; retrying later', 20],
      ['warn', 'test item failed unexpectedly; retrying later', 40],
      ['error', 'test item given up after 3 failed attempts', undefined],
    ]);
  });

  it('keeps an item whose giving up failed, and tries again later', async () => {
    let giveUpWorks = false;
    const { worker, queue } = workerWith(() => Promise.reject(new Error('poison')), {
      intervalMs: 1,
      maxAttempts: 1,
      giveUp: () => (giveUpWorks ? Promise.resolve() : Promise.reject(new Error('store away'))),
    });
    await enqueue(queue, ['poison']);

    await worker.runOnce();
    expect(await queue.size()).toBe(1);
    giveUpWorks = true;
    await new Promise((resolve) => setTimeout(resolve, 10));
    await worker.runOnce();
    expect(await queue.size()).toBe(0);
  });

  it('ends the round without counting an attempt when Redis itself does not answer', async () => {
    const { worker, queue } = workerWith(() => Promise.reject(new Error('Command timed out')));
    await enqueue(queue, ['a', 'b']);

    await expect(worker.runOnce()).rejects.toThrow('Command timed out');
    expect(await queue.attemptsOf('a')).toBe(0);
    // The round gave its lock back: another round can start at once.
    await expect(worker.runOnce()).rejects.toThrow('Command timed out');
  });

  it('lets one worker at a time work through the queue', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let working!: () => void;
    const started = new Promise<void>((resolve) => (working = resolve));
    const first = workerWith(async () => {
      working();
      await held;
      return 'done';
    });
    const second = workerWith(() => Promise.resolve('done'));
    await enqueue(first.queue, ['a']);

    const round = first.worker.runOnce();
    await started;
    expect(await second.worker.runOnce()).toBe(0);
    release();
    expect(await round).toBe(1);
  });
});
