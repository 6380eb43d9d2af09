/** Sends one batch of outcomes observed in `epoch` to the store. */
export type SendOutcomes = (epoch: number, successes: number, failures: number) => Promise<void>;

export interface OutcomeReporterOptions {
  mode: 'consecutive' | 'rate';
  /** Rate mode: how long outcomes are gathered before one write (the window tolerates the delay). */
  flushIntervalMs: number;
  send: SendOutcomes;
}

/**
 * Turns call outcomes into as few store writes as keep the semantics.
 *
 * Consecutive mode needs order, so a batch only ever holds outcomes of one
 * kind: a burst of concurrent failures becomes one write, and a run of
 * failures then successes becomes two, sent in that order on one connection.
 *
 * Rate mode needs only counts, so successes and failures are summed and
 * written every `flushIntervalMs`: the success path costs a counter increment.
 *
 * A batch is dropped when the breaker moves to another epoch before it is
 * sent: those outcomes belonged to a state that no longer exists.
 */
export class OutcomeReporter {
  #epoch = -1;
  #successes = 0;
  #failures = 0;
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(private readonly options: OutcomeReporterOptions) {}

  /**
   * `sharedFailures` is the consecutive count as this replica last saw it: a
   * success only needs writing when there is a count to reset, so a healthy
   * breaker's success path writes nothing.
   */
  success(epoch: number, sharedFailures: number): void {
    if (this.options.mode === 'consecutive') {
      if (this.#failures > 0) void this.flush();
      else if (sharedFailures === 0 && this.#successes === 0) return;
    }
    this.#add(epoch, 1, 0);
  }

  failure(epoch: number): void {
    if (this.options.mode === 'consecutive' && this.#successes > 0) void this.flush();
    this.#add(epoch, 0, 1);
  }

  /** Forgets outcomes gathered in an epoch that has ended. */
  epochChanged(epoch: number): void {
    if (epoch !== this.#epoch) this.#clear();
  }

  /** Sends what is pending now; resolves when every write sent so far has been answered. */
  async flush(): Promise<void> {
    if (this.#successes > 0 || this.#failures > 0) {
      const [epoch, successes, failures] = [this.#epoch, this.#successes, this.#failures];
      this.#clear();
      const sending = this.options.send(epoch, successes, failures).finally(() => {
        this.#inFlight.delete(sending);
      });
      this.#inFlight.add(sending);
    }
    await Promise.all(this.#inFlight);
  }

  dispose(): void {
    this.#clear();
  }

  #add(epoch: number, successes: number, failures: number): void {
    if (epoch !== this.#epoch) {
      this.#clear();
      this.#epoch = epoch;
    }
    this.#successes += successes;
    this.#failures += failures;
    if (this.#timer !== undefined) return;
    this.#timer =
      this.options.mode === 'consecutive'
        ? setImmediate(() => {
            this.#timer = undefined;
            void this.flush();
          })
        : setTimeout(() => {
            this.#timer = undefined;
            void this.flush();
          }, this.options.flushIntervalMs).unref();
  }

  #clear(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer as NodeJS.Timeout);
      clearImmediate(this.#timer as NodeJS.Immediate);
      this.#timer = undefined;
    }
    this.#successes = 0;
    this.#failures = 0;
  }
}
