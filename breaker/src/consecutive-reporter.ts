import type { Term } from './breaker-state';
import type { OutcomeRun } from './breaker-store';
import { OutcomeReporter, type SendBatch } from './outcome-reporter';

/**
 * Consecutive mode: outcomes are written as runs in the order they
 * happened (`f2,s1,f3`), gathered for one turn of the event loop and while
 * the previous write is in flight.
 *
 * A success needs writing only when there may be a count to reset: the
 * cluster's count as this replica last saw it is above zero, or failures of
 * this replica are still on their way. So a healthy breaker's success path
 * writes nothing, and F S F F never loses its S.
 *
 * The pending runs stay at most three long: a success after a run of
 * failures that cannot open the breaker resets it, so the run can go; once a
 * run reaches the threshold the breaker opens there whatever follows, so
 * nothing more is added.
 *
 * With a quorum, a run at the threshold may not open (too few replicas
 * tripped), so what follows it is kept (the runs stay at most four long).
 */
export class ConsecutiveReporter extends OutcomeReporter<OutcomeRun[]> {
  protected readonly gatherMs = 0;
  #runs: OutcomeRun[] = [];
  #sentFailures = false;

  constructor(
    send: SendBatch<OutcomeRun[]>,
    private readonly threshold: number,
    /** The cluster's count of consecutive failures, as this replica last saw it. */
    private readonly sharedFailures: () => number,
    /** Whether openings need a quorum of replicas (the store counts this replica's failures). */
    private readonly quorum = false,
  ) {
    super(send);
  }

  override record(term: Term, failed: boolean): void {
    // The healthy breaker's success path: nothing pending, nothing to reset, nothing to do.
    if (!failed && this.#runs.length === 0 && !this.#mayHaveCount()) return;
    super.record(term, failed);
  }

  protected add(failed: boolean): boolean {
    const runs = this.#runs;
    if (!this.quorum && runs.some((run) => run.kind === 'failure' && run.count >= this.threshold))
      return false;
    const last = runs.at(-1);
    if (failed) {
      if (last?.kind === 'failure') last.count += 1;
      else runs.push({ kind: 'failure', count: 1 });
      return true;
    }
    if (!this.#mayHaveCount()) return false;
    if (last === undefined) runs.push({ kind: 'success', count: 1 });
    else if (last.kind === 'failure') {
      // [F a] → [F a, S]; [S, F b] → [S]; [F a, S, F b] → [F a, S]: S F b S resets like S.
      if (runs.length === 1) runs.push({ kind: 'success', count: 1 });
      else if (this.#mayOpenAt(last)) {
        // [.., S, F b] with nothing at the threshold before: the success resets whatever came first.
        this.#runs = [{ kind: 'success', count: 1 }, last, { kind: 'success', count: 1 }];
      } else runs.pop();
    }
    return true;
  }

  protected hasPending(): boolean {
    return this.#runs.length > 0;
  }

  protected take(): OutcomeRun[] {
    const runs = this.#runs;
    this.#runs = [];
    this.#sentFailures = runs.some((run) => run.kind === 'failure');
    return runs;
  }

  protected clear(): void {
    this.#runs = [];
  }

  /**
   * With a quorum, whether the store may open at the end of `last` (the
   * last run, after a success): it reaches the threshold, and no earlier
   * run did. The store decides the quorum once per write, so a write opens
   * at its first run at the threshold or not at all; a later one can go.
   */
  #mayOpenAt(last: OutcomeRun): boolean {
    if (!this.quorum || last.count < this.threshold) return false;
    return !this.#runs.some(
      (run) => run !== last && run.kind === 'failure' && run.count >= this.threshold,
    );
  }

  #mayHaveCount(): boolean {
    return (
      this.sharedFailures() > 0 ||
      this.#runs.some((run) => run.kind === 'failure') ||
      (this.sending && this.#sentFailures)
    );
  }
}
