import { PeriodicTask } from './periodic-task';

describe('PeriodicTask', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('runs every interval after the previous round, reports errors and goes on', async () => {
    const errors: unknown[] = [];
    let rounds = 0;
    const task = new PeriodicTask({
      intervalMs: 100,
      run: () => {
        rounds += 1;
        return rounds === 2 ? Promise.reject(new Error('round 2 failed')) : Promise.resolve(rounds);
      },
      onError: (error) => errors.push(error),
    });
    task.start();
    expect(rounds).toBe(0);
    await jest.advanceTimersByTimeAsync(350);
    expect(rounds).toBe(3);
    expect(errors).toEqual([new Error('round 2 failed')]);
    await task.stop();
    await jest.advanceTimersByTimeAsync(500);
    expect(rounds).toBe(3);
  });

  it('joins a round in progress instead of starting a second one, and stop waits for it', async () => {
    let release: () => void = () => undefined;
    let rounds = 0;
    const task = new PeriodicTask({
      intervalMs: 100,
      run: () => {
        rounds += 1;
        return new Promise<number>(
          (resolve) =>
            (release = () => {
              resolve(rounds);
            }),
        );
      },
      onError: () => undefined,
    });
    const first = task.runOnce();
    const joined = task.runOnce();
    expect(rounds).toBe(1);
    let stopped = false;
    const stopping = task.stop().then(() => (stopped = true));
    expect(task.stopping).toBe(true);
    await Promise.resolve();
    expect(stopped).toBe(false);
    release();
    expect(await first).toBe(1);
    expect(await joined).toBe(1);
    await stopping;
    expect(stopped).toBe(true);
  });

  it('does not run on its own until started', async () => {
    const run = jest.fn(() => Promise.resolve(0));
    const task = new PeriodicTask({ intervalMs: 10, run, onError: () => undefined });
    expect(task.stopping).toBe(false);
    await jest.advanceTimersByTimeAsync(100);
    expect(run).not.toHaveBeenCalled();
  });
});
