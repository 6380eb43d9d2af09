import {
  allowances,
  calmSpells,
  closesOnceHealthy,
  everyReplicaHearsAnOpening,
  oneProbeAtATime,
  leases,
  noLeaseOutlivesItsProbe,
  oneStoreBudgetPerCall,
  openMeansNoCalls,
} from './invariants';
import { makePlan, type Plan } from './plan';
import { emptyTrace, type InstanceTransition, type Trace, type TruthPoint } from './trace';

/*
 * The invariants are the chaos test's judges: each must catch what it is
 * meant to catch, on a trace made by hand, and let legitimate runs pass.
 */

const plan: Plan = {
  ...makePlan(1, 12_000),
  dependency: [
    { from: 0, until: 1_000, behaviour: 'failing' },
    { from: 1_000, until: 12_000, behaviour: 'healthy' },
  ],
  redis: [],
};
const allow = allowances(plan, 10);

function trace(parts: Partial<Trace>): Trace {
  return { ...emptyTrace(2), endedAt: 12_000, ...parts };
}

const point = (
  at: number,
  state: TruthPoint['state'],
  announced = true,
  probeOwner = '',
): TruthPoint => ({
  at,
  state,
  announced,
  epoch: 1,
  incarnation: 1,
  probeOwner,
  leaseUntil: probeOwner === '' ? Infinity : at + 3_000,
});

/** A replica's transition as the trace records it: closed to open, shared, epoch 1, unless told. */
const moved = (
  instance: number,
  at: number,
  { from = 'closed', to = 'open', scope = 'shared', epoch = 1 }: Partial<InstanceTransition> = {},
): InstanceTransition => ({ instance, at, from, to, scope, epoch, incarnation: 1 });

const call = (start: number, instance = 0, { probe = false, storeUp = true } = {}) => ({
  instance,
  start,
  end: start + 1,
  probe,
  storeUp,
});

describe('open means no calls', () => {
  const truth = [point(0, 'closed', false), point(100, 'open'), point(400, 'closed')];

  it('flags a call made on Redis well after Redis held open', () => {
    const result = openMeansNoCalls(trace({ truth, calls: [call(300)] }), allow);
    expect(result.violations).toHaveLength(1);
    expect(result.violations[0]).toContain('while Redis held open, not closed since 100.0 ms');
  });

  it('allows calls before the news could arrive, probes, local calls and calls once closed', () => {
    const calls = [
      call(100 + allow.announcedMs - 1),
      call(300, 0, { probe: true }),
      call(300, 1, { storeUp: false }),
      call(401),
    ];
    expect(openMeansNoCalls(trace({ truth, calls }), allow).violations).toEqual([]);
  });

  it('gives a change nobody announced a sync interval, and judges nothing while Redis is unknown', () => {
    const silent = [point(0, 'closed', false), point(100, 'open', false), point(2_000, 'unknown')];
    const calls = [call(100 + allow.silentMs - 1), call(2_500)];
    expect(openMeansNoCalls(trace({ truth: silent, calls }), allow).violations).toEqual([]);
    const late = openMeansNoCalls(
      trace({ truth: silent, calls: [call(100 + allow.silentMs + 1)] }),
      allow,
    );
    expect(late.violations).toHaveLength(1);
  });

  it('allows a call just before the observer hears of a closing: the closing replica knew first', () => {
    const closing = [point(0, 'closed', false), point(100, 'open'), point(500, 'closed')];
    const calls = [call(500 - allow.announcedMs + 1)];
    expect(openMeansNoCalls(trace({ truth: closing, calls }), allow).violations).toEqual([]);
    const early = [call(500 - allow.announcedMs - 1)];
    expect(
      openMeansNoCalls(trace({ truth: closing, calls: early }), allow).violations,
    ).toHaveLength(1);
  });

  it('does not count time Redis was paused: a message it wrote before freezing arrives after', () => {
    // Redis froze while delivering a closing: replicas got it, the observer only once it ran again.
    const held = [point(0, 'closed', false), point(100, 'open'), point(1_250, 'closed')];
    const pause = [{ kind: 'pause' as const, from: 150, until: 1_200 }];
    const calls = [call(200, 1), call(1_100, 1)];
    expect(
      openMeansNoCalls(trace({ truth: held, calls, troubles: pause }), allow).violations,
    ).toEqual([]);
    // Without the pause, the same calls came long after the opening and long before the closing.
    expect(openMeansNoCalls(trace({ truth: held, calls }), allow).violations).toHaveLength(2);
  });

  it('counts from the start of a spell of non-closed states', () => {
    const spell = [point(0, 'closed', false), point(100, 'open'), point(150, 'half_open')];
    expect(
      openMeansNoCalls(trace({ truth: spell, calls: [call(200)] }), allow).violations,
    ).toHaveLength(1);
  });
});

describe('one probe at a time', () => {
  it('flags two probes in flight at once', () => {
    const calls = [
      { ...call(100, 0, { probe: true }), end: 200 },
      { ...call(150, 1, { probe: true }), end: 160 },
    ];
    expect(oneProbeAtATime(plan, trace({ calls })).violations).toHaveLength(1);
  });

  it('allows an overlap once the first outlived its lease, or Redis lost the lease', () => {
    const lease = plan.settings.probeLeaseMs;
    const outlived = [
      { ...call(100, 0, { probe: true }), end: 100 + lease + 50 },
      { ...call(100 + lease + 1, 1, { probe: true }), end: 100 + lease + 10 },
    ];
    expect(oneProbeAtATime(plan, trace({ calls: outlived })).violations).toEqual([]);
    const lost = [
      { ...call(100, 0, { probe: true }), end: 300 },
      { ...call(250, 1, { probe: true }), end: 260 },
    ];
    const troubles = [{ kind: 'rewind' as const, from: 200, until: 200 }];
    expect(oneProbeAtATime(plan, trace({ calls: lost, troubles })).violations).toEqual([]);
  });
});

describe('closes once healthy', () => {
  it('finds the spells when the dependency is healthy and Redis undisturbed', () => {
    const troubles = [{ kind: 'pause' as const, from: 3_000, until: 4_000 }];
    expect(calmSpells(plan, trace({ troubles }))).toEqual([
      { from: 1_000, until: 3_000 },
      { from: 4_000, until: 12_000 },
    ]);
  });

  it('flags a replica not closed, or not on Redis, that long into a calm spell', () => {
    const storeChanges = [
      { instance: 0, at: 0, up: true },
      { instance: 1, at: 0, up: true },
    ];
    const transitions = [moved(1, 500)];
    const result = closesOnceHealthy(plan, trace({ storeChanges, transitions }), allow);
    expect(result.violations).toEqual([expect.stringContaining('instance 1 was open (on Redis)')]);
    const closed = [...transitions, moved(1, 1_500, { from: 'open', to: 'closed', epoch: 2 })];
    expect(
      closesOnceHealthy(plan, trace({ storeChanges, transitions: closed }), allow).violations,
    ).toEqual([]);
  });
});

describe('every replica hears an opening', () => {
  const opening: TruthPoint = { ...point(1_000, 'open'), from: 'closed', epoch: 3 };
  const storeChanges = [
    { instance: 0, at: 0, up: true },
    { instance: 1, at: 0, up: true },
  ];

  it('flags a replica on Redis that never learned of it', () => {
    const transitions = [moved(0, 1_001, { epoch: 3 })];
    const result = everyReplicaHearsAnOpening(
      trace({ truth: [opening], storeChanges, transitions }),
      allow,
    );
    expect(result.violations).toEqual([
      expect.stringContaining('instance 1 still enforced closed'),
    ]);
    expect(result.slowestMs).toBe(1);
  });

  it('counts a replica that already enforced open as having heard', () => {
    const transitions = [moved(0, 1_001, { epoch: 3 }), moved(1, 500, { epoch: 9 })];
    const result = everyReplicaHearsAnOpening(
      trace({ truth: [opening], storeChanges, transitions }),
      allow,
    );
    expect(result).toMatchObject({ checked: 2, violations: [] });
  });

  it('gives the news the time Redis ran, not the time it was paused', () => {
    const late = [moved(0, 1_001, { epoch: 3 }), moved(1, 2_010, { epoch: 3 })];
    const heardAfterAPause = (troubles: Trace['troubles']) =>
      everyReplicaHearsAnOpening(
        trace({ truth: [opening], storeChanges, transitions: late, troubles }),
        allow,
      ).violations;
    expect(heardAfterAPause([{ kind: 'pause', from: 1_005, until: 2_000 }])).toEqual([]);
    expect(heardAfterAPause([])).toEqual([
      expect.stringContaining('instance 1 still enforced closed'),
    ]);
  });

  it('does not flag a replica that heard in time and had closed again by the end of the allowance', () => {
    // A slow event loop makes the allowance longer than a short open period: both replicas
    // heard at once, then the breaker went half-open and closed within the allowance.
    const slowLoop = allowances(plan, 150);
    const transitions = [
      moved(0, 1_001, { epoch: 3 }),
      moved(1, 1_002, { epoch: 3 }),
      moved(0, 1_170, { from: 'open', to: 'half_open', epoch: 4 }),
      moved(1, 1_170, { from: 'open', to: 'half_open', epoch: 4 }),
      moved(0, 1_175, { from: 'half_open', to: 'closed', epoch: 5 }),
      moved(1, 1_175, { from: 'half_open', to: 'closed', epoch: 5 }),
    ];
    expect(slowLoop.announcedMs).toBeGreaterThan(175);
    const result = everyReplicaHearsAnOpening(
      trace({ truth: [opening], storeChanges, transitions }),
      slowLoop,
    );
    expect(result).toMatchObject({ checked: 2, violations: [] });
  });

  it('leaves out a replica that was off Redis', () => {
    const offRedis = [...storeChanges, { instance: 1, at: 990, up: false }];
    const transitions = [moved(0, 999, { epoch: 3 })];
    const result = everyReplicaHearsAnOpening(
      trace({ truth: [opening], storeChanges: offRedis, transitions }),
      allow,
    );
    expect(result).toMatchObject({ checked: 1, violations: [] });
  });
});

describe('one store budget per call', () => {
  it('flags a call that waited longer than the budget on Redis', () => {
    const storeWaits = [80, allow.storeMs + 1];
    expect(oneStoreBudgetPerCall(trace({ storeWaits }), allow).violations).toHaveLength(1);
  });
});

describe('no lease outlives its probe', () => {
  const granted = [
    point(0, 'closed', false),
    point(1_000, 'open'),
    point(1_300, 'half_open', true, 'i1#ab#1'),
  ];

  it('follows the leases Redis held', () => {
    const truth = [...granted, point(1_310, 'closed')];
    expect(leases(trace({ truth }))).toEqual([
      { owner: 'i1#ab#1', from: 1_300, until: 1_310, announced: true },
    ]);
  });

  it('allows a lease until its probe is over and reported', () => {
    const truth = [...granted, point(1_310, 'closed')];
    const calls = [{ ...call(1_300, 1, { probe: true }), end: 1_305 }];
    expect(noLeaseOutlivesItsProbe(plan, trace({ truth, calls }), allow).violations).toEqual([]);
  });

  it('allows a release Redis did not answer within the budget until the holder hears Redis again', () => {
    const probeEnd = 1_305;
    const downAt = probeEnd + allow.storeMs - 1;
    const calls = [{ ...call(1_300, 1, { probe: true }), end: probeEnd }];
    const storeChanges = [
      { instance: 1, at: downAt, up: false },
      { instance: 1, at: downAt + 150, up: true },
    ];
    const judge = (leaseEnd: number) =>
      noLeaseOutlivesItsProbe(
        plan,
        trace({ truth: [...granted, point(leaseEnd, 'closed')], calls, storeChanges }),
        allow,
      ).violations;
    expect(judge(downAt + allow.silentMs - 1)).toEqual([]);
    expect(judge(downAt + allow.silentMs + 1)).toEqual([
      expect.stringContaining('its holder lost Redis at'),
    ]);
  });

  it('ends a lease when it expires, if Redis said nothing before', () => {
    const truth = [...granted, point(5_000, 'half_open', true, '')];
    expect(leases(trace({ truth }))).toEqual([
      { owner: 'i1#ab#1', from: 1_300, until: 4_300, announced: true },
    ]);
  });

  it('does not take a probe of the holder for the one a lease found after Redis went back was for', () => {
    const truth = [
      point(0, 'closed', false),
      point(1_300, 'half_open', false, 'i1#ab#1'),
      point(1_300 + allow.silentMs + 50, 'closed'),
    ];
    const calls = [{ ...call(1_250, 1, { probe: true }), end: 1_260 }];
    expect(noLeaseOutlivesItsProbe(plan, trace({ truth, calls }), allow).violations).toEqual([
      expect.stringContaining('with no probe running under it'),
    ]);
  });

  it('flags a lease nobody probes under that stands past a sync interval', () => {
    const truth = [...granted, point(3_000, 'half_open', true, '')];
    const result = noLeaseOutlivesItsProbe(plan, trace({ truth }), allow);
    expect(result.violations).toEqual([expect.stringContaining('with no probe running under it')]);
  });

  it('does not count the time Redis was paused', () => {
    const truth = [...granted, point(3_000, 'half_open', true, '')];
    const troubles = [{ kind: 'pause' as const, from: 1_350, until: 2_900 }];
    expect(noLeaseOutlivesItsProbe(plan, trace({ truth, troubles }), allow).violations).toEqual([]);
  });
});

describe('the judges, in a run with a slow spell', () => {
  /** A slow Redis (45 ms each way) still answers within the budget: it loses no lease. */
  const slowPlan: Plan = {
    ...plan,
    redis: [{ at: 900, kind: 'slow', ms: 1_600, latencyMs: 45 }],
  };
  const slowAllow = allowances(slowPlan, 10);
  const slow = [{ kind: 'slow' as const, from: 900, until: 2_500 }];
  const probe = (instance: number, start: number, end: number) => ({
    ...call(start, instance, { probe: true }),
    end,
  });

  it('flag two probes in flight at once though Redis was only slow', () => {
    const calls = [probe(0, 1_000, 1_500), probe(1, 1_200, 1_250)];
    expect(oneProbeAtATime(slowPlan, trace({ calls, troubles: slow })).violations).toHaveLength(1);
  });

  it('flag a lease nobody probes under that stands while Redis is only slow', () => {
    const truth = [
      point(0, 'closed'),
      point(500, 'open'),
      point(1_000, 'half_open', true, 'i0#ab#1'),
      point(2_400, 'half_open', true, ''),
    ];
    expect(
      noLeaseOutlivesItsProbe(slowPlan, trace({ truth, troubles: slow }), slowAllow).violations,
    ).toEqual([expect.stringContaining('with no probe running under it')]);
  });

  it('flag a replica that leaves closed later in a calm spell, not only one late to close', () => {
    const storeChanges = [
      { instance: 0, at: 0, up: true },
      { instance: 1, at: 0, up: true },
    ];
    const reopenAt = 2_500 + slowAllow.closingMs + 500;
    const transitions = [moved(1, reopenAt, { scope: 'local' })];
    const result = closesOnceHealthy(
      slowPlan,
      trace({ storeChanges, transitions, troubles: slow }),
      slowAllow,
    );
    expect(result.violations).toEqual([expect.stringContaining('instance 1 left closed')]);
  });
});
