import {
  openPeriodMs,
  resolveOptions,
  type FailureRate,
  type SharedCircuitBreakerOptions,
} from './breaker-options';
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

describe('breaker options: defaults', () => {
  const consecutive = { mode: 'consecutive', threshold: 3 } as const;

  it('fills in every default the README documents', () => {
    const options = resolveOptions({ ...base, trip: consecutive }, defaults);
    expect(options).toMatchObject({
      name: 'b',
      replica: 'r',
      namespace: '',
      open: { openMs: 1_000, maxOpenMs: 1_000, backoffFactor: 2 },
      slowCallMs: Infinity,
      probeLeaseMs: 10_000,
      whenStoreDown: 'local',
      storeRetryMs: 1_000,
      syncIntervalMs: 5_000,
      flushIntervalMs: 100,
      quorum: 1,
      quorumWindowMs: 10_000,
      slowCallsInFlight: false,
    });
  });

  it('takes the quorum window from the rate window unless given', () => {
    const rate = { mode: 'rate', threshold: 0.5, minCalls: 1, windowMs: 4_000 } as const;
    expect(resolveOptions({ ...base, trip: rate, quorum: 2 }, defaults)).toMatchObject({
      quorum: 2,
      quorumWindowMs: 4_000,
    });
    expect(
      resolveOptions({ ...base, trip: rate, quorum: 3, quorumWindowMs: 500 }, defaults),
    ).toMatchObject({ quorum: 3, quorumWindowMs: 500 });
  });

  it('counts errors with the classifier the breaker supplies unless one is given', () => {
    const supplied = (error: unknown) => error === 'supplied';
    const given = (error: unknown) => error === 'given';
    const byDefault = resolveOptions(
      { ...base, trip: consecutive },
      { replica: 'r', isFailure: supplied },
    );
    expect(byDefault.isFailure('supplied')).toBe(true);
    expect(byDefault.isFailure('given')).toBe(false);
    const chosen = resolveOptions(
      { ...base, trip: consecutive, isFailure: given },
      { replica: 'r', isFailure: supplied },
    );
    expect(chosen.isFailure('given')).toBe(true);
    expect(chosen.isFailure('supplied')).toBe(false);
  });

  it('keeps every setting that is given instead of its default', () => {
    const options = resolveOptions(
      {
        name: 'payments',
        replica: 'replica-2',
        namespace: 'lab:',
        trip: consecutive,
        openMs: 2_000,
        maxOpenMs: 30_000,
        backoffFactor: 1.5,
        slowCallMs: 250.5,
        probeLeaseMs: 3_000,
        whenStoreDown: 'reject',
        storeRetryMs: 200,
        syncIntervalMs: 60_000,
        flushIntervalMs: 20,
      },
      defaults,
    );
    expect(options).toMatchObject({
      name: 'payments',
      replica: 'replica-2',
      namespace: 'lab:',
      open: { openMs: 2_000, maxOpenMs: 30_000, backoffFactor: 1.5 },
      slowCallMs: 250.5,
      probeLeaseMs: 3_000,
      whenStoreDown: 'reject',
      storeRetryMs: 200,
      syncIntervalMs: 60_000,
      flushIntervalMs: 20,
    });
  });

  it('keeps the open period fixed when only openMs is given', () => {
    const { open } = resolveOptions({ ...base, trip: consecutive }, defaults);
    expect([1, 2, 3, 10].map((count) => openPeriodMs(open, count))).toEqual([
      1_000, 1_000, 1_000, 1_000,
    ]);
  });

  it('doubles the open period after each failed probe by default once maxOpenMs allows growth', () => {
    const { open } = resolveOptions({ ...base, maxOpenMs: 10_000, trip: consecutive }, defaults);
    expect([1, 2, 3, 4, 5, 6].map((count) => openPeriodMs(open, count))).toEqual([
      1_000, 2_000, 4_000, 8_000, 10_000, 10_000,
    ]);
  });

  it('rounds a fractional backoff down to whole milliseconds', () => {
    const { open } = resolveOptions(
      { ...base, openMs: 100, maxOpenMs: 1_000, backoffFactor: 1.5, trip: consecutive },
      defaults,
    );
    expect([1, 2, 3, 4].map((count) => openPeriodMs(open, count))).toEqual([100, 150, 225, 337]);
  });

  it('turns consecutive settings into the consecutive strategy with that threshold', () => {
    const { trip } = resolveOptions({ ...base, trip: consecutive }, defaults);
    if (!(trip instanceof ConsecutiveStrategy))
      throw new Error('expected the consecutive strategy');
    expect(trip.mode).toBe('consecutive');
    expect(trip.settings).toEqual({ mode: 'consecutive', threshold: 3 });
  });

  it('splits the rate window into the buckets asked for, each floor(windowMs / buckets) long', () => {
    const { trip } = resolveOptions(
      {
        ...base,
        trip: { mode: 'rate', threshold: 0.5, minCalls: 20, windowMs: 1_003, buckets: 4 },
      },
      defaults,
    );
    if (!(trip instanceof RateStrategy)) throw new Error('expected the rate strategy');
    expect(trip.settings).toEqual({
      mode: 'rate',
      thresholdPpm: 500_000,
      minCalls: 20,
      bucketMs: 250,
      buckets: 4,
    });
  });

  it('accepts the edges of every range', () => {
    const options = resolveOptions(
      {
        ...base,
        openMs: 1,
        maxOpenMs: 2_147_483_647,
        backoffFactor: 1,
        trip: { mode: 'rate', threshold: 1, minCalls: 1, windowMs: 100, buckets: 100 },
      },
      defaults,
    );
    expect(options.open).toEqual({ openMs: 1, maxOpenMs: 2_147_483_647, backoffFactor: 1 });
    const { trip } = options;
    if (!(trip instanceof RateStrategy)) throw new Error('expected the rate strategy');
    expect(trip.settings).toMatchObject({ thresholdPpm: 1_000_000, bucketMs: 1, buckets: 100 });
  });

  it('takes a strategy object as it is', () => {
    const strategy = new ConsecutiveStrategy({ mode: 'consecutive', threshold: 7 });
    expect(resolveOptions({ ...base, trip: strategy }, defaults).trip).toBe(strategy);
  });
});

describe('breaker options: what is refused, and the message that says why', () => {
  const consecutive = { mode: 'consecutive', threshold: 3 } as const;
  const resolve = (extra: Partial<SharedCircuitBreakerOptions>) => () =>
    resolveOptions({ ...base, trip: consecutive, ...extra }, defaults);
  const rate = (extra: Partial<FailureRate>) => () =>
    resolveOptions(
      { ...base, trip: { mode: 'rate', threshold: 0.5, minCalls: 1, windowMs: 1_000, ...extra } },
      defaults,
    );

  it.each([
    'openMs',
    'maxOpenMs',
    'probeLeaseMs',
    'storeRetryMs',
    'syncIntervalMs',
    'flushIntervalMs',
  ])('refuses %s unless it is a positive whole number of milliseconds a timer keeps', (setting) => {
    // maxOpenMs is compared with openMs only once it is a valid period itself.
    for (const value of [0, -1, 1.5, NaN, Infinity]) {
      expect(resolve({ [setting]: value })).toThrow(
        new RangeError(`${setting} must be a positive integer (got ${value})`),
      );
    }
    expect(resolve({ [setting]: 2 ** 31 })).toThrow(
      new RangeError(`${setting} must be at most 2147483647 ms (got 2147483648)`),
    );
  });

  it('refuses a quorum that is not a positive whole number of replicas, and a bad window', () => {
    for (const value of [0, -1, 1.5, NaN]) {
      expect(resolve({ quorum: value })).toThrow(
        new RangeError(`quorum must be a positive integer (got ${value})`),
      );
    }
    expect(resolve({ quorum: 2, quorumWindowMs: 0 })).toThrow(
      new RangeError('quorumWindowMs must be a positive integer (got 0)'),
    );
  });

  it('refuses in-flight detection of slow calls without a slowCallMs', () => {
    expect(resolve({ slowCallsInFlight: true })).toThrow(
      new RangeError('slowCallsInFlight needs slowCallMs: the time after which a call is slow'),
    );
    expect(resolve({ slowCallsInFlight: 'yes' as unknown as boolean, slowCallMs: 5 })).toThrow(
      new RangeError('slowCallsInFlight must be true or false (got yes)'),
    );
    expect(resolve({ slowCallsInFlight: true, slowCallMs: 5, quorum: 2 })).toThrow(
      /slowCallsInFlight does not combine with a quorum/,
    );
    expect(resolve({ slowCallsInFlight: true, slowCallMs: 2 ** 31 })).toThrow(
      new RangeError('slowCallMs must be at most 2147483647 ms (got 2147483648)'),
    );
    expect(resolve({ slowCallsInFlight: true, slowCallMs: 5 })()).toMatchObject({
      slowCallsInFlight: true,
      slowCallMs: 5,
    });
  });

  it('refuses a cap on the open period below the open period', () => {
    expect(resolve({ openMs: 1_000, maxOpenMs: 999 })).toThrow(
      new RangeError('maxOpenMs (999) must be at least openMs (1000)'),
    );
  });

  it('refuses a backoff factor that would shrink the open period', () => {
    for (const value of [0, -2, NaN, Infinity]) {
      expect(resolve({ backoffFactor: value })).toThrow(
        new RangeError(`backoffFactor must be a positive number (got ${value})`),
      );
    }
    expect(resolve({ backoffFactor: 0.5 })).toThrow(
      new RangeError('backoffFactor must be at least 1 (got 0.5)'),
    );
  });

  it('refuses a slow-call limit that is not a positive number', () => {
    for (const value of [0, -1, NaN]) {
      expect(resolve({ slowCallMs: value })).toThrow(
        new RangeError(`slowCallMs must be a positive number (got ${value})`),
      );
    }
  });

  it('refuses a store-down behaviour it does not know, as a JavaScript caller may misspell it', () => {
    expect(resolve({ whenStoreDown: 'rejct' as 'reject' })).toThrow(
      new RangeError(`whenStoreDown must be 'local' or 'reject' (got 'rejct')`),
    );
  });

  it('refuses a consecutive threshold that is not a positive integer', () => {
    for (const threshold of [0, -1, 2.5, NaN]) {
      expect(resolve({ trip: { mode: 'consecutive', threshold } })).toThrow(
        new RangeError(`trip.threshold must be a positive integer (got ${threshold})`),
      );
    }
  });

  it('refuses a rate threshold outside (0, 1], or one that rounds to no millionth', () => {
    for (const threshold of [0, -0.5, 1.01, 0.0000004, NaN]) {
      expect(rate({ threshold })).toThrow(
        new RangeError(
          `trip.threshold must be a ratio above 0 (at least 0.000001) and at most 1 (got ${threshold})`,
        ),
      );
    }
  });

  it('refuses a rate window that is not a timer period', () => {
    expect(rate({ windowMs: 0 })).toThrow(
      new RangeError('trip.windowMs must be a positive integer (got 0)'),
    );
    expect(rate({ windowMs: 999.5 })).toThrow(
      new RangeError('trip.windowMs must be a positive integer (got 999.5)'),
    );
    expect(rate({ windowMs: 2 ** 31 })).toThrow(
      new RangeError('trip.windowMs must be at most 2147483647 ms (got 2147483648)'),
    );
  });

  it('refuses a bucket count outside 1 to 100', () => {
    for (const buckets of [0, 2.5]) {
      expect(rate({ buckets })).toThrow(
        new RangeError(`trip.buckets must be a positive integer (got ${buckets})`),
      );
    }
    expect(rate({ buckets: 101 })).toThrow(
      new RangeError('trip.buckets must be at most 100 (got 101)'),
    );
  });

  it('refuses a window shorter than one millisecond per bucket', () => {
    expect(rate({ windowMs: 9, buckets: 10 })).toThrow(
      new RangeError('trip.windowMs (9) must be at least trip.buckets (10)'),
    );
  });

  it('refuses a minimum number of calls that is not a positive integer', () => {
    for (const minCalls of [0, 1.5]) {
      expect(rate({ minCalls })).toThrow(
        new RangeError(`trip.minCalls must be a positive integer (got ${minCalls})`),
      );
    }
  });
});
