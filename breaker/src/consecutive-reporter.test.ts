import fc from 'fast-check';
import { termOf, INITIAL_STATE, type ScriptReply } from './breaker-state';
import type { OutcomeRun } from './breaker-store';
import { ConsecutiveReporter } from './consecutive-reporter';

/**
 * What RECORD_CONSECUTIVE does with runs, from a count: the count after, or
 * 'open'. `quorate` is the quorum as the script decides it once per write
 * (always true without a quorum).
 */
function apply(
  count: number,
  runs: readonly OutcomeRun[],
  threshold: number,
  quorate = true,
): number | 'open' {
  let failures = count;
  for (const run of runs) {
    if (run.kind === 'success') failures = 0;
    else {
      failures += run.count;
      if (failures >= threshold && quorate) return 'open';
    }
  }
  return failures;
}

const reply = { state: INITIAL_STATE, now: 0 } satisfies ScriptReply;
const term = termOf(INITIAL_STATE);

describe('the consecutive reporter', () => {
  it('writes runs that open or leave the count exactly as every outcome one by one would', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.boolean(), { maxLength: 40 }),
        async (threshold, startCount, outcomes) => {
          const sent: OutcomeRun[][] = [];
          const reporter = new ConsecutiveReporter(
            (_term, runs) => {
              sent.push(runs);
              return Promise.resolve(reply);
            },
            threshold,
            // The count as the replica saw it: a success always needs writing here.
            () => 1,
          );
          for (const failed of outcomes) reporter.record(term, failed);
          await reporter.flush();
          const written = sent.flat();
          const expected = apply(
            startCount,
            outcomes.map((failed) => ({ kind: failed ? 'failure' : 'success', count: 1 })),
            threshold,
          );
          expect(apply(startCount, written, threshold)).toBe(expected);
          for (const batch of sent) expect(batch.length).toBeLessThanOrEqual(3);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('with a quorum, writes runs that open or leave the count as one by one would, a run at the threshold not ending the batch', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 5 }),
        fc.boolean(),
        fc.array(fc.array(fc.boolean(), { maxLength: 12 }), { maxLength: 5 }),
        async (threshold, startCount, quorate, batches) => {
          const sent: OutcomeRun[][] = [];
          const reporter = new ConsecutiveReporter(
            (_term, runs) => {
              sent.push(runs);
              return Promise.resolve(reply);
            },
            threshold,
            () => 1,
            true,
          );
          for (const outcomes of batches) {
            for (const failed of outcomes) reporter.record(term, failed);
            await reporter.flush();
          }
          const written = sent.flat();
          const expected = apply(
            startCount,
            batches.flat().map((failed) => ({ kind: failed ? 'failure' : 'success', count: 1 })),
            threshold,
            quorate,
          );
          expect(apply(startCount, written, threshold, quorate)).toBe(expected);
          for (const batch of sent) expect(batch.length).toBeLessThanOrEqual(4);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('writes nothing for successes while there is no count to reset', async () => {
    const sent: OutcomeRun[][] = [];
    const reporter = new ConsecutiveReporter(
      (_term, runs) => {
        sent.push(runs);
        return Promise.resolve(reply);
      },
      3,
      () => 0,
    );
    for (let i = 0; i < 100; i += 1) reporter.record(term, false);
    await reporter.flush();
    expect(sent).toEqual([]);
  });

  it('writes the success of F S while the failure is still on its way (F S F F is not three)', async () => {
    const sent: OutcomeRun[][] = [];
    let answer: () => void = () => undefined;
    const reporter = new ConsecutiveReporter(
      (_term, runs) => {
        sent.push(runs);
        // The first write waits for Redis; later ones are answered at once.
        if (sent.length > 1) return Promise.resolve(reply);
        return new Promise((resolve) => {
          answer = () => {
            resolve(reply);
          };
        });
      },
      3,
      () => 0,
    );
    reporter.record(term, true);
    await new Promise((resolve) => setImmediate(resolve));
    // The failure is in flight; the replica's view still says 0.
    reporter.record(term, false);
    reporter.record(term, true);
    reporter.record(term, true);
    answer();
    await reporter.flush();
    expect(sent).toEqual([
      [{ kind: 'failure', count: 1 }],
      [
        { kind: 'success', count: 1 },
        { kind: 'failure', count: 2 },
      ],
    ]);
  });

  it('drops outcomes of another term without touching what is pending', async () => {
    const sent: OutcomeRun[][] = [];
    const reporter = new ConsecutiveReporter(
      (_term, runs) => {
        sent.push(runs);
        return Promise.resolve(reply);
      },
      10,
      () => 0,
    );
    reporter.termChanged({ incarnation: 5, epoch: 2 });
    reporter.record({ incarnation: 5, epoch: 2 }, true);
    reporter.record({ incarnation: 5, epoch: 1 }, true);
    reporter.record({ incarnation: 5, epoch: 2 }, true);
    await reporter.flush();
    expect(sent).toEqual([[{ kind: 'failure', count: 2 }]]);
  });
});
