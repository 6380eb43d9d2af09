import type { LatencySummary } from './stats';

/** Latencies below this are counted in the first bucket (ms). */
const LOWEST_MS = 0.01;
/** Latencies above this are counted in the last bucket (ms): far beyond any order's timeout. */
const HIGHEST_MS = 1_000_000;
/** Buckets per power of ten: each spans 10^(1/100), about 2.3 % of its value. */
const BUCKETS_PER_DECADE = 100;
const BUCKETS = Math.ceil(Math.log10(HIGHEST_MS / LOWEST_MS) * BUCKETS_PER_DECADE) + 1;

/**
 * Latencies in a fixed number of logarithmic buckets, so a load that runs
 * for a week holds as much memory as one that runs for a second. A
 * quantile is read to within one bucket (about 2.3 % of its value); the
 * count, minimum and maximum are exact.
 */
export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #min = Infinity;
  #max = -Infinity;

  /** How many buckets it holds, whatever it has recorded. */
  static readonly buckets = BUCKETS;

  get count(): number {
    return this.#count;
  }

  record(ms: number): void {
    if (!Number.isFinite(ms)) return;
    const bucket = bucketOf(ms);
    this.#counts[bucket] = (this.#counts[bucket] ?? 0) + 1;
    this.#count += 1;
    if (ms < this.#min) this.#min = ms;
    if (ms > this.#max) this.#max = ms;
  }

  /** The latency below which `q` (0 to 1) of the recorded ones fall, NaN when none was. */
  quantile(q: number): number {
    if (this.#count === 0) return Number.NaN;
    const rank = Math.min(this.#count, Math.max(1, Math.ceil(q * this.#count)));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket += 1) {
      seen += this.#counts[bucket] ?? 0;
      // The bucket's upper edge, never beyond what was really seen.
      if (seen >= rank) return Math.min(Math.max(upperEdgeOf(bucket), this.#min), this.#max);
    }
    return this.#max;
  }

  summary(): LatencySummary {
    return {
      count: this.#count,
      p50: this.quantile(0.5),
      p95: this.quantile(0.95),
      p99: this.quantile(0.99),
      max: this.#count === 0 ? Number.NaN : this.#max,
    };
  }
}

function bucketOf(ms: number): number {
  if (ms <= LOWEST_MS) return 0;
  const bucket = Math.ceil(Math.log10(ms / LOWEST_MS) * BUCKETS_PER_DECADE);
  return Math.min(bucket, BUCKETS - 1);
}

const upperEdgeOf = (bucket: number): number => LOWEST_MS * 10 ** (bucket / BUCKETS_PER_DECADE);
