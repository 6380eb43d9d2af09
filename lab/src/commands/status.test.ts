import { describeTopology, type CircuitView } from './status';

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
