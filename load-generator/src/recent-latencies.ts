import { summarize, type LatencySummary } from './stats';

/**
 * The latencies of the orders sent in the last `windowMs`: a sliding window
 * for a live progress line. It holds only what fits in the window (the rate
 * times the window), however long the load runs.
 */
export class RecentLatencies {
  /** Send times and latencies, oldest first. */
  #entries: { sentAtMs: number; latencyMs: number }[] = [];

  constructor(private readonly windowMs: number) {}

  get size(): number {
    return this.#entries.length;
  }

  record(sentAtMs: number, latencyMs: number): void {
    this.#entries.push({ sentAtMs, latencyMs });
  }

  /** Forgets what was sent `windowMs` or longer before `nowMs`, and summarizes the rest. */
  summary(nowMs: number): LatencySummary {
    const from = nowMs - this.windowMs;
    // Answers arrive out of order, so a late one may sit behind a newer one: keep by time.
    this.#entries = this.#entries.filter((entry) => entry.sentAtMs > from);
    return summarize(this.#entries.map((entry) => entry.latencyMs));
  }
}
