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
});
