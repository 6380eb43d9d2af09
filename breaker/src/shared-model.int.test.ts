import fc from 'fast-check';
import type { OpenSettings } from './breaker-options';
import { useBreakerSuite } from './breaker.fixture';
import {
  BreakerModel,
  breakerCommands,
  Declined,
  sharedSubject,
  Wait,
  type World,
} from './model-commands.fixture';

/*
 * One shared breaker on a real Redis, driven by every sequence fast-check
 * makes of calls (succeeding, failing, not counted, cancelled, held across
 * other commands), waits, isolate and reset, and checked after each against
 * the reference model the local breaker is checked against too.
 */

jest.setTimeout(120_000);

const { replicas } = useBreakerSuite();

/** The open period does not grow here: the model follows what Redis decides anyway. */
const OPEN: OpenSettings = { openMs: 120, maxOpenMs: 120, backoffFactor: 1 };

describe('the shared breaker against the reference model', () => {
  it('consecutive mode: every sequence of calls, held calls, waits, isolate and reset', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        breakerCommands(fc.constant(new Wait('open period')), 25),
        async (threshold, cmds) => {
          const [breaker] = await replicas(1, {
            trip: { mode: 'consecutive', threshold },
            ...OPEN,
            isFailure: (error) => !(error instanceof Declined),
          });
          const world: World = {
            subject: sharedSubject(breaker!),
            model: new BreakerModel({ mode: 'consecutive', threshold }, OPEN),
          };
          await fc.asyncModelRun(() => ({ model: world, real: world }), cmds);
          // A call still held ends here, so that nothing outlives the run.
          await world.held?.end('success');
          breaker!.dispose();
        },
      ),
      { numRuns: 100 },
    );
  });
});
