import type { z } from 'zod';
import { ConfigError, loadConfig } from './config';

/** The problems `loadConfig` reports for `env`; fails the test if it accepts it. */
export function problemsOf(schema: z.ZodObject, env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadConfig(schema, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be rejected');
}
