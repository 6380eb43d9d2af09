import {
  activeFaults,
  decideFault,
  FaultInjector,
  HEALTHY,
  type Faults,
  type RandomSource,
} from './faults';

/** A random source that hands out exactly `values`, and fails the test on any extra draw. */
const draws = (...values: number[]): RandomSource => {
  const queue = [...values];
  return () => {
    const next = queue.shift();
    if (next === undefined) throw new Error('drew more random numbers than expected');
    return next;
  };
};

/** mulberry32: a tiny seeded generator, so the share tests are the same on every run. */
const seeded = (seed: number): RandomSource => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const faults = (patch: Partial<Faults>): Faults => ({ ...HEALTHY, ...patch });

describe('decideFault', () => {
  it('lets every request through at once when the gateway is healthy', () => {
    expect(decideFault(HEALTHY, draws(0))).toEqual({ action: 'pass', delayMs: 0 });
  });

  it('drops every request when down, whatever else is set, without drawing', () => {
    const everything = faults({ down: true, errorRate: 1, timeoutRate: 1, latencyMs: 500 });
    expect(decideFault(everything, draws())).toEqual({ action: 'drop' });
  });

  it('splits one draw so each rate is an exact share: timeouts, then errors, then passes', () => {
    const mixed = faults({ timeoutRate: 0.2, errorRate: 0.3, errorStatus: 502 });
    expect(decideFault(mixed, draws(0))).toEqual({ action: 'hold' });
    expect(decideFault(mixed, draws(0.1999))).toEqual({ action: 'hold' });
    expect(decideFault(mixed, draws(0.2))).toEqual({ action: 'fail', status: 502, delayMs: 0 });
    expect(decideFault(mixed, draws(0.4999))).toEqual({ action: 'fail', status: 502, delayMs: 0 });
    expect(decideFault(mixed, draws(0.5))).toEqual({ action: 'pass', delayMs: 0 });
    expect(decideFault(mixed, draws(0.9999))).toEqual({ action: 'pass', delayMs: 0 });
  });

  it('fails every request at rate 1 and none at rate 0', () => {
    expect(decideFault(faults({ errorRate: 1 }), draws(0.9999999))).toMatchObject({
      action: 'fail',
      status: 503,
    });
    expect(decideFault(faults({ timeoutRate: 1 }), draws(0.9999999))).toEqual({ action: 'hold' });
    expect(decideFault(HEALTHY, draws(0))).toMatchObject({ action: 'pass' });
  });

  it('gives timeouts their full share and errors the rest when the rates add up to more than 1', () => {
    const saturated = faults({ timeoutRate: 0.7, errorRate: 0.7 });
    expect(decideFault(saturated, draws(0.69))).toEqual({ action: 'hold' });
    expect(decideFault(saturated, draws(0.7))).toMatchObject({ action: 'fail' });
    expect(decideFault(saturated, draws(0.9999))).toMatchObject({ action: 'fail' });
  });

  it('adds the latency plus a jitter drawn uniformly over [0, jitterMs] whole milliseconds', () => {
    const slow = faults({ latencyMs: 100, jitterMs: 50 });
    expect(decideFault(slow, draws(0.9, 0))).toEqual({ action: 'pass', delayMs: 100 });
    expect(decideFault(slow, draws(0.9, 0.5))).toEqual({ action: 'pass', delayMs: 125 });
    expect(decideFault(slow, draws(0.9, 0.9999999))).toEqual({ action: 'pass', delayMs: 150 });
    // No jitter, no second draw.
    expect(decideFault(faults({ latencyMs: 100 }), draws(0.9))).toEqual({
      action: 'pass',
      delayMs: 100,
    });
  });

  it('delays injected errors too, but never held or dropped requests', () => {
    const slowAndFailing = faults({ latencyMs: 200, jitterMs: 10, errorRate: 1, errorStatus: 429 });
    expect(decideFault(slowAndFailing, draws(0.5, 0))).toEqual({
      action: 'fail',
      status: 429,
      delayMs: 200,
    });
    expect(decideFault({ ...slowAndFailing, timeoutRate: 1 }, draws(0.5))).toEqual({
      action: 'hold',
    });
  });

  it('matches the configured shares over many requests', () => {
    const random = seeded(42);
    const mixed = faults({ timeoutRate: 0.1, errorRate: 0.3, latencyMs: 10, jitterMs: 20 });
    const counts = { hold: 0, fail: 0, pass: 0, drop: 0 };
    const delays: number[] = [];
    const requests = 20_000;
    for (let i = 0; i < requests; i += 1) {
      const decision = decideFault(mixed, random);
      counts[decision.action] += 1;
      if ('delayMs' in decision) delays.push(decision.delayMs);
    }
    expect(counts.drop).toBe(0);
    // Within 0.01 of each share: about three standard deviations at 20,000 requests.
    expect(Math.abs(counts.hold / requests - 0.1)).toBeLessThan(0.01);
    expect(Math.abs(counts.fail / requests - 0.3)).toBeLessThan(0.01);
    expect(Math.abs(counts.pass / requests - 0.6)).toBeLessThan(0.01);
    expect(Math.min(...delays)).toBe(10);
    expect(Math.max(...delays)).toBe(30);
  });
});

describe('activeFaults', () => {
  it('names the kinds of fault a set injects', () => {
    expect(activeFaults(HEALTHY)).toEqual({
      error_rate: false,
      latency: false,
      timeout: false,
      down: false,
    });
    expect(activeFaults(faults({ errorStatus: 500 }))).toMatchObject({ error_rate: false });
    expect(activeFaults(faults({ jitterMs: 5 }))).toMatchObject({ latency: true });
    expect(
      activeFaults(faults({ errorRate: 0.1, latencyMs: 1, timeoutRate: 0.1, down: true })),
    ).toEqual({ error_rate: true, latency: true, timeout: true, down: true });
  });
});

describe('FaultInjector', () => {
  it('starts healthy, with every field filled', () => {
    expect(new FaultInjector().current()).toEqual({
      errorRate: 0,
      errorStatus: 503,
      latencyMs: 0,
      jitterMs: 0,
      timeoutRate: 0,
      down: false,
      scope: null,
    });
  });

  it('replaces, merges and heals', () => {
    const injector = new FaultInjector();
    expect(injector.replace({ latencyMs: 300, errorRate: 0.5 })).toEqual(
      faults({ latencyMs: 300, errorRate: 0.5 }),
    );
    // Replace: what the new set leaves out goes back to its default.
    expect(injector.replace({ errorStatus: 500 })).toEqual(faults({ errorStatus: 500 }));
    // Merge: what the patch leaves out is kept.
    expect(injector.merge({ down: true })).toEqual(faults({ errorStatus: 500, down: true }));
    expect(injector.current()).toEqual(faults({ errorStatus: 500, down: true }));
    expect(injector.heal()).toEqual(HEALTHY);
    expect(injector.current()).toEqual(HEALTHY);
  });

  it('hands out frozen sets, so nobody changes the faults behind its back', () => {
    const injector = new FaultInjector();
    const current = injector.merge({ errorRate: 0.5 });
    expect(Object.isFrozen(current)).toBe(true);
    expect(Object.isFrozen(injector.heal())).toBe(true);
  });

  it('refuses an invalid set and keeps the active one', () => {
    const injector = new FaultInjector();
    injector.merge({ errorRate: 0.5 });
    expect(() => injector.merge({ errorRate: 2 })).toThrow();
    expect(() => injector.replace({ errorStatus: 404 })).toThrow();
    expect(() => injector.merge({ latencyMs: Number.NaN })).toThrow();
    expect(() => injector.merge({ errorRate: undefined })).toThrow();
    expect(injector.current()).toEqual(faults({ errorRate: 0.5 }));
  });

  it('tells its listeners about every change, with the faults it replaced', () => {
    const injector = new FaultInjector();
    const changes: [Faults, Faults][] = [];
    const unsubscribe = injector.onChange((next, previous) => changes.push([next, previous]));

    injector.merge({ timeoutRate: 0.25 });
    injector.merge({ timeoutRate: 0.25 }); // no change, no call
    injector.heal();
    unsubscribe();
    injector.merge({ down: true });

    expect(changes).toEqual([
      [faults({ timeoutRate: 0.25 }), HEALTHY],
      [HEALTHY, faults({ timeoutRate: 0.25 })],
    ]);
  });

  it('decides with its own random source unless given another', () => {
    const injector = new FaultInjector(draws(0.1));
    injector.replace({ errorRate: 0.2 });
    expect(injector.decide()).toMatchObject({ action: 'fail' });
    expect(injector.decide(undefined, draws(0.2))).toMatchObject({ action: 'pass' });
  });
});

describe('FaultInjector with a caller scope', () => {
  it('reaches every caller, named or not, when no scope is given', () => {
    const injector = new FaultInjector(draws());
    injector.replace({ down: true });
    expect(injector.decide('payments-1')).toEqual({ action: 'drop' });
    expect(injector.decide(undefined)).toEqual({ action: 'drop' });
  });

  it('reaches only the named replicas, and lets the others through at once without a draw', () => {
    const injector = new FaultInjector(draws());
    injector.replace({ down: true, scope: { replicas: ['payments-2'] } });
    expect(injector.decide('payments-2')).toEqual({ action: 'drop' });
    expect(injector.decide('payments-1')).toEqual({ action: 'pass', delayMs: 0 });
    // A caller that does not name itself is outside every scope.
    expect(injector.decide(undefined)).toEqual({ action: 'pass', delayMs: 0 });
  });

  it('scopes latency too, so one replica can be made slow alone', () => {
    const injector = new FaultInjector(draws(0.5));
    injector.replace({ latencyMs: 800, scope: { replicas: ['slow'] } });
    expect(injector.decide('fast')).toEqual({ action: 'pass', delayMs: 0 });
    expect(injector.decide('slow')).toEqual({ action: 'pass', delayMs: 800 });
  });

  it('tells its listeners when only the scope changed', () => {
    const injector = new FaultInjector();
    const changes: Faults[] = [];
    injector.onChange((next) => changes.push(next));
    injector.replace({ down: true, scope: { replicas: ['a'] } });
    injector.merge({ scope: { replicas: ['a'] } }); // the same: no call
    injector.merge({ scope: { replicas: ['b'] } });
    injector.merge({ scope: null });
    expect(changes.map((change) => change.scope)).toEqual([
      { replicas: ['a'] },
      { replicas: ['b'] },
      null,
    ]);
  });

  it('refuses a scope the middleware could not act on', () => {
    const injector = new FaultInjector();
    expect(() => injector.merge({ scope: { share: 0 } })).toThrow();
    expect(() => injector.merge({ scope: { replicas: [] } })).toThrow();
    expect(injector.current().scope).toBeNull();
  });
});
