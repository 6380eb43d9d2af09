import { isConfigError, loadConfig } from '@cb-lab/shared';
import { paymentsConfigSchema } from './config';

const TOKEN = 'long-enough-admin-token';

/** The problems `loadConfig` reports for `env`, or none when it loads. */
function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(paymentsConfigSchema, { ADMIN_TOKEN: TOKEN, ...env });
  } catch (error) {
    if (isConfigError(error)) return error.problems;
    throw error;
  }
  return [];
}

describe('paymentsConfigSchema', () => {
  it('takes an INSTANCE the gateway accepts as a caller name, and refuses any other at boot', () => {
    expect(problemsOf({ INSTANCE: 'payments-1' })).toEqual([]);
    expect(problemsOf({ INSTANCE: '3f2a9c1b7d4e' })).toEqual([]);
    expect(problemsOf({ INSTANCE: 'payments 1' })).toEqual([
      expect.stringMatching(/^INSTANCE: expected a replica id: 1 to 64 letters/),
    ]);
  });

  it('refuses in-flight detection of slow calls without BREAKER_SLOW_CALL_MS', () => {
    expect(problemsOf({ BREAKER_SLOW_CALLS_IN_FLIGHT: 'true' })).toEqual([
      'BREAKER_SLOW_CALLS_IN_FLIGHT: expected BREAKER_SLOW_CALL_MS to be set too (the time after which a call is slow) (got "true")',
    ]);
    expect(
      problemsOf({ BREAKER_SLOW_CALLS_IN_FLIGHT: 'true', BREAKER_SLOW_CALL_MS: '300' }),
    ).toEqual([]);
    expect(
      problemsOf({
        BREAKER_SLOW_CALLS_IN_FLIGHT: 'true',
        BREAKER_SLOW_CALL_MS: '300',
        BREAKER_QUORUM: '2',
      }),
    ).toEqual([
      'BREAKER_SLOW_CALLS_IN_FLIGHT: expected false with BREAKER_QUORUM above 1 (each replica judges calls when they end) (got "true")',
    ]);
  });

  it('takes a breaker of each replica’s own, which has no quorum', () => {
    expect(problemsOf({ BREAKER_SCOPE: 'replica' })).toEqual([]);
    expect(problemsOf({ BREAKER_SCOPE: 'replica', BREAKER_QUORUM: '2' })).toEqual([
      'BREAKER_QUORUM: expected 1 with BREAKER_SCOPE=replica (a breaker of one replica has no quorum) (got "2")',
    ]);
    expect(problemsOf({ BREAKER_SCOPE: 'cluster' })).toEqual([
      expect.stringMatching(/^BREAKER_SCOPE: /),
    ]);
  });

  it('takes a quorum from 1 to 100 replicas, 1 (none) by default', () => {
    expect(problemsOf({ BREAKER_QUORUM: '2' })).toEqual([]);
    expect(problemsOf({ BREAKER_QUORUM: '0' })).toEqual([
      expect.stringMatching(/^BREAKER_QUORUM: /),
    ]);
  });
});
