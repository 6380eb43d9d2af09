import { openPeriodMs, resolveOptions } from './breaker-options';
import { ConsecutiveStrategy } from './consecutive-strategy';
import { rateReached, RateStrategy } from './rate-strategy';

const defaults = { replica: 'r', isFailure: () => true };
const base = { name: 'b', openMs: 1_000 };

describe('breaker options', () => {
  it('accepts a rate threshold from one millionth up to 1, held in millionths', () => {
    for (const [threshold, ppm] of [
      [1, 1_000_000],
      [0.55, 550_000],
      [0.000001, 1],
    ] as const) {
      const options = resolveOptions(
        { ...base, trip: { mode: 'rate', threshold, minCalls: 1, windowMs: 1_000 } },
        defaults,
      );
      const { trip } = options;
      if (!(trip instanceof RateStrategy)) throw new Error('expected the rate strategy');
      expect(trip.settings).toMatchObject({
        thresholdPpm: ppm,
        bucketMs: 100,
        buckets: 10,
      });
    }
  });

  it('refuses what would not work, naming the setting', () => {
    const rate =
      (threshold: number, extra = {}) =>
      () =>
        resolveOptions(
          { ...base, trip: { mode: 'rate', threshold, minCalls: 1, windowMs: 1_000, ...extra } },
          defaults,
        );
    expect(rate(1.5)).toThrow('trip.threshold');
    expect(rate(0)).toThrow('trip.threshold');
    expect(rate(0.5, { buckets: 101 })).toThrow('trip.buckets');
    expect(rate(0.5, { windowMs: 5, buckets: 10 })).toThrow('trip.windowMs');
    expect(() =>
      resolveOptions({ ...base, trip: { mode: 'consecutive', threshold: 0 } }, defaults),
    ).toThrow('trip.threshold');
    expect(() =>
      resolveOptions(
        { ...base, maxOpenMs: 10, trip: { mode: 'consecutive', threshold: 1 } },
        defaults,
      ),
    ).toThrow('maxOpenMs');
    // Longer than a Node.js timer keeps: it would fire at once.
    expect(() =>
      resolveOptions(
        { ...base, syncIntervalMs: 2 ** 31, trip: { mode: 'consecutive', threshold: 1 } },
        defaults,
      ),
    ).toThrow('syncIntervalMs must be at most 2147483647 ms');
    // A count has no such limit: a threshold no run reaches is how a benchmark keeps it closed.
    expect(
      resolveOptions(
        { ...base, trip: { mode: 'consecutive', threshold: Number.MAX_SAFE_INTEGER } },
        defaults,
      ).trip.mode,
    ).toBe('consecutive');
  });

  it('checks strategy objects built from settings too', () => {
    expect(() => new ConsecutiveStrategy({ mode: 'consecutive', threshold: 1.5 })).toThrow(
      'trip.threshold',
    );
    const rate = { mode: 'rate', thresholdPpm: 500_000, minCalls: 1, bucketMs: 10, buckets: 10 };
    expect(() => new RateStrategy({ ...rate, mode: 'rate', thresholdPpm: 2_000_000 })).toThrow(
      'trip.thresholdPpm',
    );
    expect(() => new RateStrategy({ ...rate, mode: 'rate', buckets: 0 })).toThrow('trip.buckets');
    expect(() => new RateStrategy({ ...rate, mode: 'rate', bucketMs: 0.5 })).toThrow(
      'trip.bucketMs',
    );
  });

  it('compares rates on integers: 55 of 100 reaches 55 %, 54 does not', () => {
    expect(55 >= 0.55 * 100).toBe(false); // what floating point would decide
    expect(rateReached(55, 100, 550_000)).toBe(true);
    expect(rateReached(7, 100, 70_000)).toBe(true);
    expect(rateReached(54, 100, 550_000)).toBe(false);
  });

  it('grows the open period after each failed probe, up to the cap', () => {
    const open = { openMs: 200, maxOpenMs: 500, backoffFactor: 2 };
    expect([1, 2, 3, 4].map((count) => openPeriodMs(open, count))).toEqual([200, 400, 500, 500]);
  });
});
