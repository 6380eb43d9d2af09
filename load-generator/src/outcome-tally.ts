import type { OrderSample } from './load';

/** Distinct failure reasons counted by name; beyond it they count as `other`. */
const MAX_REASONS = 32;

/**
 * How many orders ended each way, and why the failed ones failed: a few
 * counters, whatever the number of orders. Reasons come from the orders
 * service, so their number is capped too.
 */
export class OutcomeTally {
  readonly #outcomes = new Map<string, number>();
  readonly #reasons = new Map<string, number>();
  #count = 0;

  get count(): number {
    return this.#count;
  }

  record({ outcome, failureReason }: Pick<OrderSample, 'outcome' | 'failureReason'>): void {
    this.#count += 1;
    this.#outcomes.set(outcome, (this.#outcomes.get(outcome) ?? 0) + 1);
    if (failureReason === undefined) return;
    const reason =
      this.#reasons.has(failureReason) || this.#reasons.size < MAX_REASONS
        ? failureReason
        : 'other';
    this.#reasons.set(reason, (this.#reasons.get(reason) ?? 0) + 1);
  }

  /** Orders that ended with `outcome`. */
  of(outcome: OrderSample['outcome']): number {
    return this.#outcomes.get(outcome) ?? 0;
  }

  /** Kinds counted: at most the outcomes plus the capped reasons. */
  get size(): number {
    return this.#outcomes.size + this.#reasons.size;
  }

  /** E.g. `paid 120 · payment_failed 30 (circuit_open 28, gateway_unavailable 2)`. */
  describe(): string {
    const reasons = [...this.#reasons].map(([reason, count]) => `${reason} ${count}`).join(', ');
    return [...this.#outcomes]
      .map(
        ([outcome, count]) =>
          `${outcome} ${count}${outcome === 'payment_failed' && reasons !== '' ? ` (${reasons})` : ''}`,
      )
      .join(' · ');
  }
}
