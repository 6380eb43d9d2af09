import type { ConsecutiveTrip } from './breaker-options';
import { positive } from './checks';
import { ConsecutiveReporter } from './consecutive-reporter';
import type { TransitionReason } from './transition-reason';
import type { TripCounter, TripReporting, TripStrategy } from './trip-strategy';

/**
 * Opens after `threshold` consecutive failures across the cluster, in the
 * order the store receives them; a success resets the count.
 */
export class ConsecutiveStrategy implements TripStrategy {
  readonly mode = 'consecutive';

  constructor(readonly settings: ConsecutiveTrip) {
    positive('trip.threshold', settings.threshold, true);
  }

  createReporter(reporting: TripReporting): ConsecutiveReporter {
    const { store, keys, open, vote } = reporting;
    return new ConsecutiveReporter(
      (term, runs) =>
        reporting.write(() =>
          store.recordConsecutive(keys, term, runs, this.settings, open, vote?.()),
        ),
      this.settings.threshold,
      reporting.sharedFailures,
      vote !== undefined,
    );
  }

  createCounter(_now: () => number, failures: number): TripCounter {
    return new ConsecutiveCounter(this.settings.threshold, failures);
  }
}

class ConsecutiveCounter implements TripCounter {
  readonly calls = 0;

  constructor(
    private readonly threshold: number,
    public failures: number,
  ) {}

  record(failed: boolean): TransitionReason | undefined {
    if (!failed) {
      this.failures = 0;
      return undefined;
    }
    this.failures += 1;
    return this.failures >= this.threshold ? 'failure threshold reached' : undefined;
  }

  decide(): undefined {
    return undefined;
  }

  nextDecisionAt(): undefined {
    return undefined;
  }

  opened(): void {
    // The count stays as it was when the breaker opened, as in the shared state.
  }

  cleared(): void {
    this.failures = 0;
  }
}
