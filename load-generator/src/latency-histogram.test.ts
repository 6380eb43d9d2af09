import { LatencyHistogram } from './latency-histogram';
import { OutcomeTally } from './outcome-tally';
import { RecentLatencies } from './recent-latencies';
import { summarize } from './stats';

/** A seeded generator (mulberry32), so a failing run replays. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('LatencyHistogram', () => {
  it('reads quantiles to within one bucket (2.4 %) of the exact ones, with count and max exact', () => {
    const seed = 20261204;
    const next = random(seed);
    const histogram = new LatencyHistogram();
    const latencies: number[] = [];
    for (let i = 0; i < 100_000; i += 1) {
      // Mostly fast, a tail of timeouts: three orders of magnitude, as under a breaker.
      const ms = next() < 0.97 ? 2 + next() * 40 : 1_000 + next() * 200;
      latencies.push(ms);
      histogram.record(ms);
    }
    const exact = summarize(latencies);
    const read = histogram.summary();
    expect({ seed, count: read.count, max: read.max }).toEqual({
      seed,
      count: exact.count,
      max: exact.max,
    });
    for (const q of ['p50', 'p95', 'p99'] as const) {
      // At or above the exact value, by less than one bucket; the seed names a failing run.
      const within = read[q] >= exact[q] && read[q] <= exact[q] * 1.024;
      expect({ seed, q, read: read[q], exact: exact[q], within }).toMatchObject({ within: true });
    }
  });

  it('holds a fixed number of buckets however many latencies it records', () => {
    const histogram = new LatencyHistogram();
    for (let i = 0; i < 1_000_000; i += 1) histogram.record((i % 5_000) + 0.5);
    expect(histogram.count).toBe(1_000_000);
    // One value per bucket: the only state besides count, min and max.
    expect(LatencyHistogram.buckets).toBeLessThan(1_000);
    expect(histogram.quantile(1)).toBe(4_999.5);
    expect(histogram.quantile(0)).toBeGreaterThanOrEqual(0.5);
    expect(histogram.quantile(0)).toBeLessThanOrEqual(0.5 * 1.024);
  });

  it('says nothing (NaN) before any latency, and ignores values that are not finite', () => {
    const histogram = new LatencyHistogram();
    histogram.record(Number.NaN);
    expect(histogram.summary()).toEqual({
      count: 0,
      p50: Number.NaN,
      p95: Number.NaN,
      p99: Number.NaN,
      max: Number.NaN,
    });
  });
});

describe('OutcomeTally', () => {
  it('counts outcomes and reasons, capping the reasons a server can make up', () => {
    const tally = new OutcomeTally();
    for (let i = 0; i < 100_000; i += 1)
      tally.record({ outcome: 'payment_failed', failureReason: `made_up_${i}` });
    tally.record({ outcome: 'paid' });
    expect(tally.count).toBe(100_001);
    expect(tally.of('payment_failed')).toBe(100_000);
    // Two outcomes, 32 reasons by name and `other`.
    expect(tally.size).toBe(2 + 33);
    expect(tally.describe()).toMatch(
      /^payment_failed 100000 \(made_up_0 1, .* other 99968\) · paid 1$/,
    );
  });
});

describe('RecentLatencies', () => {
  it('keeps only the window: at 1000 orders/s for ten minutes, five seconds of them', () => {
    const recent = new RecentLatencies(5_000);
    let largest = 0;
    for (let second = 0; second < 600; second += 1) {
      for (let i = 0; i < 1_000; i += 1) recent.record(second * 1_000 + i, 10 + (i % 7));
      const summary = recent.summary(second * 1_000 + 999);
      largest = Math.max(largest, recent.size);
      expect(summary.count).toBe(Math.min(second + 1, 5) * 1_000);
    }
    expect(largest).toBe(5_000);
  });
});
