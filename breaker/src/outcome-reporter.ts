import { INITIAL_STATE, sameTerm, termOf, type ScriptReply, type Term } from './breaker-state';
import type { TripReporter } from './trip-strategy';

/** Sends one batch to the store; resolves with Redis's reply, or undefined when the store failed. */
export type SendBatch<Batch> = (term: Term, batch: Batch) => Promise<ScriptReply | undefined>;

/**
 * Turns call outcomes into as few store writes as keep the semantics, off
 * the callers' path. One write is in flight at a time, so writes reach
 * Redis in the order the outcomes happened; what happens meanwhile waits
 * in a bounded batch. Outcomes of calls started in another term than the
 * breaker's current one are dropped: they describe a breaker that no
 * longer exists.
 */
export abstract class OutcomeReporter<Batch> implements TripReporter {
  #term: Term = termOf(INITIAL_STATE);
  #sending: Promise<void> | undefined;
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  /** The gathering time is over: the batch leaves once no write is in flight. */
  #due = false;
  #disposed = false;

  constructor(private readonly sendBatch: SendBatch<Batch>) {}

  /** One call of `term` ended: `failed` says how it counts. */
  record(term: Term, failed: boolean): void {
    if (this.#disposed || !sameTerm(term, this.#term)) return;
    if (this.add(failed)) this.#schedule();
  }

  /** The breaker moved to `term`; outcomes gathered in an earlier one are forgotten. */
  termChanged(term: Term): void {
    if (!sameTerm(this.#term, term)) this.clear();
    this.#term = term;
  }

  /** Sends what is pending now; resolves once every write sent so far has been answered. */
  async flush(): Promise<void> {
    for (let rounds = 0; rounds < 100; rounds += 1) {
      if (this.#sending) await this.#sending;
      else if (!this.#disposed && this.hasPending()) this.#send();
      else return;
    }
  }

  /** Forgets everything pending and sends nothing more (the store is gone, or the breaker is disposed). */
  dispose(): void {
    this.#disposed = true;
    this.#due = false;
    this.#stopTimer();
    this.clear();
  }

  /** Starts again after {@link dispose}, in `term`. */
  restart(term: Term): void {
    this.#disposed = false;
    this.#term = term;
  }

  /** Adds one outcome to the pending batch; false when it needs no write. */
  protected abstract add(failed: boolean): boolean;
  protected abstract hasPending(): boolean;
  /** Takes the pending batch, leaving nothing pending. */
  protected abstract take(): Batch;
  protected abstract clear(): void;
  /** How long to gather outcomes before a write (0: the next turn of the event loop). */
  protected abstract readonly gatherMs: number;
  /** Called with every reply Redis gave to a write. */
  protected answered(_reply: ScriptReply): void {}

  /** Whether a write is on its way to Redis. */
  protected get sending(): boolean {
    return this.#sending !== undefined;
  }

  /** Sends `batch` now unless a write is in flight or the reporter is disposed. */
  protected sendNow(batch: Batch): void {
    if (this.#disposed || this.#sending) return;
    this.#dispatch(batch);
  }

  /**
   * Starts gathering from the first pending outcome, even while a write is in
   * flight: once the gathering time is over, the batch leaves as soon as the
   * write in flight is answered. So an outcome waits at most the longer of
   * the two before it leaves.
   */
  #schedule(): void {
    if (this.#timer !== undefined || this.#due) return;
    const fire = () => {
      this.#timer = undefined;
      this.#due = true;
      this.#sendIfDue();
    };
    this.#timer = this.gatherMs > 0 ? setTimeout(fire, this.gatherMs).unref() : setImmediate(fire);
  }

  #sendIfDue(): void {
    if (!this.#due || this.#sending || this.#disposed) return;
    this.#due = false;
    if (this.hasPending()) this.#send();
  }

  #send(): void {
    this.#stopTimer();
    this.#due = false;
    this.#dispatch(this.take());
  }

  #dispatch(batch: Batch): void {
    const term = this.#term;
    // A send that rejects is taken as one with no reply: what gathered meanwhile still leaves.
    this.#sending = this.sendBatch(term, batch)
      .catch(() => undefined)
      .then((reply) => {
        this.#sending = undefined;
        if (reply && !this.#disposed) this.answered(reply);
        if (this.#due) this.#sendIfDue();
        else if (this.hasPending()) this.#schedule();
      });
  }

  #stopTimer(): void {
    if (this.#timer === undefined) return;
    if (this.gatherMs > 0) clearTimeout(this.#timer as NodeJS.Timeout);
    else clearImmediate(this.#timer as NodeJS.Immediate);
    this.#timer = undefined;
  }
}
