import { BulkheadRejectedError, bulkhead, timeout, TimeoutStrategy } from 'cockatiel';
import { isTaskCancelled } from './task-cancelled';

const rejection = (promise: Promise<unknown>) =>
  promise.then(
    () => undefined,
    (e: unknown) => e,
  );

describe('isTaskCancelled', () => {
  it('recognises the error of a timeout policy that gave up', async () => {
    const hang = () => new Promise<never>(() => undefined);
    const error = await rejection(timeout(5, TimeoutStrategy.Aggressive).execute(hang));
    expect(isTaskCancelled(error)).toBe(true);
  });

  it('does not take a full bulkhead or an ordinary error for a cancellation', async () => {
    const full = bulkhead(1, 0);
    const running = full.execute(() => new Promise((resolve) => setTimeout(resolve, 20)));
    const error = await rejection(full.execute(() => 'never runs'));
    await running;
    expect(error).toBeInstanceOf(BulkheadRejectedError);
    expect(isTaskCancelled(error)).toBe(false);
    expect(isTaskCancelled(new Error('boom'))).toBe(false);
    expect(isTaskCancelled(undefined)).toBe(false);
  });
});
