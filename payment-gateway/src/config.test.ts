import { isConfigError, loadConfig } from '@cb-lab/shared';
import { gatewayConfigSchema } from './config';

describe('gatewayConfigSchema', () => {
  it('requires an admin token of at least 16 characters and never echoes it', () => {
    const problemsOf = (env: Record<string, string>): readonly string[] => {
      try {
        loadConfig(gatewayConfigSchema, env);
      } catch (error) {
        if (isConfigError(error)) return error.problems;
        throw error;
      }
      return [];
    };
    expect(problemsOf({})).toEqual([
      'ADMIN_TOKEN: expected at least 16 characters (it is not set)',
    ]);
    expect(problemsOf({ ADMIN_TOKEN: 'too-short' })).toEqual([
      'ADMIN_TOKEN: expected at least 16 characters (got a value that was hidden)',
    ]);
    expect(
      loadConfig(gatewayConfigSchema, { ADMIN_TOKEN: 'long-enough-admin-token' }),
    ).toMatchObject({ ADMIN_TOKEN: 'long-enough-admin-token', CARD_LIMIT_MINOR: 500_000 });
  });
});
