import { useBreakerSuite } from './breaker.fixture';
import { assertFollowsTheModel } from './model-commands.fixture';

/*
 * One shared breaker on a real Redis, driven by every sequence fast-check
 * makes of calls (succeeding, failing, not counted, cancelled, held across
 * other commands), waits, isolate and reset, and checked after each against
 * the reference model the local breaker is checked against too.
 */

jest.setTimeout(120_000);

const { replicas } = useBreakerSuite();

describe('the shared breaker against the reference model', () => {
  it('consecutive mode: every sequence of calls, held calls, waits, isolate and reset', async () => {
    await assertFollowsTheModel(async (options) => (await replicas(1, options))[0]!);
  });
});
