import { HEALTHY } from '@cb-lab/contracts';
import {
  describeFaults,
  describeIsolation,
  describeTopology,
  type CircuitView,
  type GatewayFaults,
} from './status';

const view = (
  storeServer: string | null,
  storeTopology: string | null = 'sentinel',
): CircuitView => ({
  enabled: true,
  breaker: 'payment-gateway',
  state: 'closed',
  failures: 0,
  replica: 'r',
  store: storeServer === null ? 'local' : 'redis',
  storeTopology,
  storeServer,
  storeSwitches: 0,
  mode: 'consecutive',
  openedAt: null,
  halfOpenAt: null,
  openCount: 0,
  openMs: 10_000,
  clockOffsetMs: 0,
  isolation: null,
  lastStoreReplyAt: null,
  epochsBehind: 0,
  redis: null,
});

describe('the Redis line of lab status', () => {
  it('names the topology and the server holding the breaker', () => {
    expect(describeTopology([view('10.0.0.6:6379'), view('10.0.0.6:6379'), view(null)])).toBe(
      "Redis: sentinel; the breaker's state is on 10.0.0.6:6379",
    );
  });

  it('says when replicas disagree, as during a failover', () => {
    expect(describeTopology([view('10.0.0.2:6379'), view('10.0.0.6:6379')])).toBe(
      'Redis: sentinel; replicas disagree on the server (a failover in progress?): 10.0.0.2:6379, 10.0.0.6:6379',
    );
  });

  it('says when no replica has reached Redis', () => {
    expect(describeTopology([view(null, null)])).toBe(
      'Redis: unknown; no replica has reached it yet',
    );
  });
});

describe('the gateway faults line of lab status', () => {
  const faults = (patch: Partial<GatewayFaults>): GatewayFaults => ({ ...HEALTHY, ...patch });

  it('says nothing of a scope when the faults reach every caller', () => {
    expect(describeFaults(faults({ down: true }))).toBe('down (connections cut)');
    expect(describeFaults(HEALTHY)).toBe('healthy');
  });

  it('names the replicas a scoped fault is limited to, and which callers it reaches', () => {
    const scoped = faults({ errorRate: 1, scope: { replicas: ['p-2'] } });
    expect(describeFaults(scoped)).toBe('100% answer 503, for replica p-2 only');
    expect(
      describeFaults(scoped, {
        callers: [
          { replica: 'p-1', reached: false },
          { replica: 'p-2', reached: true },
          { replica: 'p-3', reached: false },
        ],
      }),
    ).toBe(
      '100% answer 503, for replica p-2 only (reaching p-2 of 3 callers heard in the last minute)',
    );
  });

  it('gives a share in per cent, and says when it reaches no caller yet', () => {
    const shared = faults({ down: true, scope: { share: 0.5 } });
    expect(describeFaults(shared, { callers: [] })).toBe(
      'down (connections cut), for 50% of callers only (reaching none of 0 callers heard in the last minute)',
    );
  });

  it('calls a scoped set of faults that injects nothing healthy', () => {
    expect(describeFaults(faults({ scope: { replicas: ['p-1'] } }))).toBe('healthy');
  });
});

describe('the isolation line of lab status', () => {
  const now = Date.parse('2026-12-03T14:00:00.000Z');

  it('says until when, how long is left, and why', () => {
    expect(
      describeIsolation({ until: '2026-12-03T14:04:59.000Z', reason: 'gateway deploy' }, now),
    ).toBe('isolated until 14:04:59.000 (in 4m 59s), then it closes by itself: gateway deploy');
  });

  it('says when it lasts until a reset, and when no reason was given', () => {
    expect(describeIsolation({ until: null, reason: null }, now)).toBe(
      'isolated until a reset: no reason given',
    );
  });
});
