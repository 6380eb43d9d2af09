import { BrokenCircuitError, IsolatedCircuitError, TaskCancelledError } from 'cockatiel';
import {
  afterFallbackFailure,
  afterPrimaryFailure,
  countsAsGatewayFailure,
  failureReasonOf,
  gatewayAway,
  GatewayRejectedError,
  GatewayUnavailableError,
  mayHaveCharged,
  neverReachedGateway,
  paymentFailure,
} from './gateway-failures';

const unavailable = (kind: GatewayUnavailableError['kind']) =>
  new GatewayUnavailableError(`gateway ${kind}`, kind);

/** Every way a charge can throw, named for the table below. */
const failures = {
  'breaker open': new BrokenCircuitError(),
  'breaker isolated': new IsolatedCircuitError(),
  'our timeout': new TaskCancelledError(),
  'gateway timeout': unavailable('timeout'),
  'connection refused': unavailable('refused'),
  'connection broken': unavailable('broken'),
  'gateway 5xx': unavailable('server_error'),
  'gateway 4xx': new GatewayRejectedError(422, { error: 'idempotency_key_reused' }),
  'a bug': new TypeError('cannot read properties of undefined'),
} as const;
type Failure = keyof typeof failures;

describe('what each failed charge means', () => {
  // [failure, trips the breaker, may have charged, never reached, gateway away, recorded reason]
  it.each<[Failure, boolean, boolean, boolean, boolean, string]>([
    ['breaker open', false, false, false, true, 'circuit_open'],
    ['breaker isolated', false, false, false, true, 'circuit_open'],
    ['our timeout', true, true, false, true, 'gateway_unavailable'],
    ['gateway timeout', true, true, false, true, 'gateway_unavailable'],
    ['connection refused', true, false, true, true, 'gateway_unavailable'],
    ['connection broken', true, true, false, true, 'gateway_unavailable'],
    ['gateway 5xx', true, false, false, true, 'gateway_unavailable'],
    ['gateway 4xx', false, false, false, false, 'gateway_error'],
    ['a bug', false, false, false, false, 'gateway_error'],
  ])('%s', (name, trips, charged, unreached, away, reason) => {
    const error = failures[name];
    expect({
      trips: countsAsGatewayFailure(error),
      charged: mayHaveCharged(error),
      unreached: neverReachedGateway(error),
      away: gatewayAway(error),
      reason: failureReasonOf(error),
    }).toEqual({ trips, charged, unreached, away, reason });
  });
});

describe('the decision after a charge threw', () => {
  it.each<[Failure, boolean, string]>([
    ['breaker open', false, 'fallback'],
    // An earlier attempt may still be charging: another gateway could charge it twice.
    ['breaker open', true, 'await confirmation'],
    ['our timeout', false, 'await confirmation'],
    ['connection broken', false, 'await confirmation'],
    ['connection refused', false, 'fail'],
    ['gateway 5xx', false, 'fail'],
    ['gateway 4xx', false, 'fail'],
    ['a bug', true, 'fail'],
  ])(
    'on the primary gateway: %s (earlier attempt unknown: %s) -> %s',
    (name, unknown, decision) => {
      expect(afterPrimaryFailure(failures[name], unknown)).toBe(decision);
    },
  );

  it.each<[Failure, string]>([
    ['our timeout', 'await confirmation'],
    ['gateway timeout', 'await confirmation'],
    ['breaker open', 'fail'],
    ['gateway 5xx', 'fail'],
    ['gateway 4xx', 'fail'],
  ])('on the fallback gateway: %s -> %s', (name, decision) => {
    expect(afterFallbackFailure(failures[name])).toBe(decision);
  });
});

describe('paymentFailure: what the client is told', () => {
  it('answers an open breaker with 503 and the Retry-After of the breaker it is given', () => {
    const error = paymentFailure(failures['breaker open'], () => 42);
    expect(error).toMatchObject({ status: 503, code: 'circuit_open' });
    expect(error.headers).toEqual({ 'Retry-After': '42' });
  });

  it('answers a gateway that failed with 502 naming what went wrong', () => {
    const error = paymentFailure(failures['gateway 5xx'], () => 1);
    expect(error).toMatchObject({ status: 502, code: 'gateway_unavailable' });
    expect(error.message).toContain('gateway server_error');
    expect(error.headers).toEqual({});
  });

  it('answers a refusal with 502 gateway_error, leaking none of its body', () => {
    const error = paymentFailure(failures['gateway 4xx'], () => 1);
    expect(error).toMatchObject({ status: 502, code: 'gateway_error' });
    expect(error.message).not.toContain('idempotency_key_reused');
  });
});
