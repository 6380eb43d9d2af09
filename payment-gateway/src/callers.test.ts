import { CALLER_MEMORY_MS, CallerDirectory, MAX_CALLERS } from './callers';

/** A directory on a clock the test moves by hand. */
function directoryAt(start = 1_000_000) {
  const clock = { now: start };
  return { clock, directory: new CallerDirectory(() => clock.now) };
}

describe('CallerDirectory', () => {
  it('reaches every caller, named or not, without a scope', () => {
    const { directory } = directoryAt();
    expect(directory.reaches(null, 'a')).toBe(true);
    expect(directory.reaches(null, undefined)).toBe(true);
  });

  it('reaches only the listed replicas, never an unnamed caller', () => {
    const { directory } = directoryAt();
    const scope = { replicas: ['a', 'c'] };
    expect(['a', 'b', 'c', undefined].map((caller) => directory.reaches(scope, caller))).toEqual([
      true,
      false,
      true,
      false,
    ]);
  });

  it('turns a share into ⌈share × n⌉ of the callers heard, the same ones whatever the order heard', () => {
    const callers = ['payments-1', 'payments-2', 'payments-3'];
    const reached = (order: string[], share: number) => {
      const { directory } = directoryAt();
      for (const caller of order) directory.heard(caller);
      return callers.filter((caller) => directory.reaches({ share }, caller));
    };
    const third = reached(callers, 1 / 3);
    expect(third).toHaveLength(1);
    expect(reached([...callers].reverse(), 1 / 3)).toEqual(third);
    expect(reached(callers, 0.5)).toHaveLength(2);
    expect(reached(callers, 0.01)).toHaveLength(1);
    expect(reached(callers, 1)).toEqual(callers);
    // The callers a smaller share reaches are among those a larger one reaches.
    expect(reached(callers, 0.5)).toEqual(expect.arrayContaining(third));
  });

  it('forgets a caller not heard from for a minute, so a share is taken of the callers still there', () => {
    const { clock, directory } = directoryAt();
    directory.heard('gone');
    clock.now += CALLER_MEMORY_MS / 2;
    directory.heard('stays');
    expect(directory.callers()).toEqual(expect.arrayContaining(['gone', 'stays']));
    clock.now += CALLER_MEMORY_MS / 2 + 1;
    expect(directory.callers()).toEqual(['stays']);
    expect(directory.reaches({ share: 0.5 }, 'stays')).toBe(true);
  });

  it(`remembers at most ${MAX_CALLERS} callers, forgetting the least recently heard`, () => {
    const { directory } = directoryAt();
    for (let i = 0; i <= MAX_CALLERS; i++) directory.heard(`caller-${i}`);
    const callers = directory.callers();
    expect(callers).toHaveLength(MAX_CALLERS);
    expect(callers).not.toContain('caller-0');
    expect(callers).toContain(`caller-${MAX_CALLERS}`);
  });
});
