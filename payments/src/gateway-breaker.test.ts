import { BrokenCircuitError } from 'cockatiel';
import { LocalGatewayBreaker } from './gateway-breaker';
import { GatewayRejectedError, GatewayUnavailableError } from './gateway-client';

const settings = {
  name: 'payment-gateway',
  replica: 'r-1',
  failureThreshold: 3,
  openMs: 60_000,
  callTimeoutMs: 50,
};
const outage = () => Promise.reject(new GatewayUnavailableError('HTTP 503', 'server_error'));

async function attempt<T>(
  breaker: LocalGatewayBreaker,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<unknown> {
  try {
    return await breaker.execute(call);
  } catch (error) {
    return error;
  }
}

describe('LocalGatewayBreaker', () => {
  it('opens after the threshold of consecutive gateway failures and then rejects without calling', async () => {
    const breaker = new LocalGatewayBreaker(settings);
    for (let i = 0; i < 3; i += 1) await attempt(breaker, outage);
    expect(breaker.snapshot()).toEqual({
      breaker: 'payment-gateway',
      state: 'open',
      failures: 3,
      replica: 'r-1',
      store: 'local',
    });

    const call = jest.fn(() => Promise.resolve('charged'));
    expect(await attempt(breaker, call)).toBeInstanceOf(BrokenCircuitError);
    expect(call).not.toHaveBeenCalled();
    expect(breaker.retryAfterSeconds()).toBe(60);
  });

  it('counts a call slower than the timeout as a failure', async () => {
    const breaker = new LocalGatewayBreaker(settings);
    const hang = () => new Promise(() => undefined);
    for (let i = 0; i < 3; i += 1) await attempt(breaker, hang);
    expect(breaker.snapshot().state).toBe('open');
  });

  it('never counts declines or rejected requests', async () => {
    const breaker = new LocalGatewayBreaker(settings);
    for (let i = 0; i < 5; i += 1) {
      await attempt(breaker, () => Promise.resolve({ status: 'declined' }));
      await attempt(breaker, () => Promise.reject(new GatewayRejectedError(400, {})));
    }
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 0 });
  });

  it('resets the consecutive count on a success', async () => {
    const breaker = new LocalGatewayBreaker(settings);
    await attempt(breaker, outage);
    await attempt(breaker, outage);
    await attempt(breaker, () => Promise.resolve('ok'));
    await attempt(breaker, outage);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', failures: 1 });
  });
});
