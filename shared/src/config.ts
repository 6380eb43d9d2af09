import { hostname } from 'node:os';
import { z } from 'zod';

/**
 * Thrown when the environment does not satisfy a service's config schema.
 * Its message names every offending variable and what was expected, so a
 * misconfigured container fails at boot with one readable line per problem.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';

  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export const isConfigError = (error: unknown): error is ConfigError => error instanceof ConfigError;

/**
 * Variable names whose values must never be echoed back in an error message (node lists too:
 * a mistaken `user:password@host:port` there must not reach the logs).
 */
const SECRET_NAME = /TOKEN|PASSWORD|SECRET|KEY|URL|NODES|SENTINELS/i;

/**
 * Validates `env` against `schema` once, at boot. Every problem is collected
 * (not just the first) and reported through {@link ConfigError}.
 */
export function loadConfig<S extends z.ZodObject>(
  schema: S,
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.');
    const raw = env[name];
    const got =
      raw === undefined
        ? 'it is not set'
        : SECRET_NAME.test(name)
          ? 'got a value that was hidden'
          : `got ${JSON.stringify(raw)}`;
    return `${name}: ${issue.message} (${got})`;
  });
  throw new ConfigError(problems);
}

interface IntOptions {
  min?: number;
  max?: number;
  default?: number;
}

/** Builders for environment variables: each parses a string and explains what it expected. */
export const env = {
  int({ min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER, ...rest }: IntOptions = {}) {
    const expected = `expected an integer from ${min} to ${max}`;
    const schema = z
      .string({ error: expected })
      .trim()
      .regex(/^-?\d+$/, expected)
      .transform(Number)
      .pipe(z.number().int().min(min, expected).max(max, expected));
    return rest.default === undefined
      ? schema
      : schema.optional().transform((v) => v ?? (rest.default as number));
  },

  /** An optional integer: `undefined` when the variable is not set. */
  optionalInt({
    min = Number.MIN_SAFE_INTEGER,
    max = Number.MAX_SAFE_INTEGER,
  }: Omit<IntOptions, 'default'> = {}) {
    return env.int({ min, max }).optional();
  },

  /** A decimal number such as a ratio (`0.5`). */
  number({ min, max, default: fallback }: { min: number; max: number; default?: number }) {
    const expected = `expected a number from ${min} to ${max}`;
    const schema = z
      .string({ error: expected })
      .trim()
      .regex(/^-?\d+(\.\d+)?$/, expected)
      .transform(Number)
      .pipe(z.number().min(min, expected).max(max, expected));
    return fallback === undefined ? schema : schema.optional().transform((v) => v ?? fallback);
  },

  port(defaultPort?: number) {
    return env.int({
      min: 0,
      max: 65535,
      ...(defaultPort === undefined ? {} : { default: defaultPort }),
    });
  },

  string({ default: fallback, minLength = 1 }: { default?: string; minLength?: number } = {}) {
    const expected =
      minLength > 1 ? `expected at least ${minLength} characters` : 'expected a non-empty string';
    const schema = z.string({ error: expected }).trim().min(minLength, expected);
    return fallback === undefined ? schema : schema.optional().transform((v) => v ?? fallback);
  },

  url({ default: fallback, protocols }: { default?: string; protocols: readonly string[] }) {
    const expected = `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
    const schema = z.string({ error: expected }).refine((value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, expected);
    return fallback === undefined ? schema : schema.optional().transform((v) => v ?? fallback);
  },

  /** A list of `host:port`, comma-separated (`redis-1:26379,redis-2:26379`). */
  hostPorts() {
    const expected = 'expected host:port, or several separated by commas';
    return z
      .string({ error: expected })
      .transform((value) => value.split(',').map((node) => node.trim()))
      .refine(
        (nodes) =>
          nodes.every((node) => {
            const match = /^([^\s:/]+):(\d{1,5})$/.exec(node);
            return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 65535;
          }),
        expected,
      );
  },

  /** `true` or `false`, spelled out: a typo must not silently mean either. */
  boolean({ default: fallback }: { default?: boolean } = {}) {
    const expected = 'expected true or false';
    const schema = z
      .enum(['true', 'false'], { error: expected })
      .transform((value) => value === 'true');
    return fallback === undefined ? schema : schema.optional().transform((v) => v ?? fallback);
  },

  oneOf<const T extends readonly [string, ...string[]]>(values: T, fallback?: T[number]) {
    const expected = `expected one of ${values.join(', ')}`;
    const schema = z.enum(values, { error: expected });
    return fallback === undefined ? schema : schema.optional().transform((v) => v ?? fallback);
  },
};

/**
 * Variables every service reads. Services spread this into their own schema:
 * `z.object({ ...serviceConfigShape, REDIS_URL: env.url(...) })`.
 */
export const serviceConfigShape = {
  PORT: env.port(8080),
  LOG_LEVEL: env.oneOf(['error', 'warn', 'info', 'debug'], 'info'),
  /** Names this replica in logs and metrics; the container id under compose. */
  INSTANCE: env.string({ default: hostname() }),
  /** How long in-flight requests may take to finish after SIGTERM. */
  SHUTDOWN_TIMEOUT_MS: env.int({ min: 0, max: 120_000, default: 10_000 }),
  BODY_LIMIT_BYTES: env.int({ min: 256, max: 1_048_576, default: 16_384 }),
};

/** The default of RECORD_RETENTION_HOURS; the README derives it from bytes per order. */
export const DEFAULT_RECORD_RETENTION_HOURS = 6;

/**
 * Variables of a service that keeps records in Redis (orders, payments): how
 * long a record and its Idempotency-Key are kept, which is also how long the
 * key is honoured. Services spread this into their own schema.
 */
export const recordRetentionShape = {
  RECORD_RETENTION_HOURS: env.int({ min: 1, max: 720, default: DEFAULT_RECORD_RETENTION_HOURS }),
};

export const serviceConfigSchema = z.object(serviceConfigShape);
export type ServiceConfig = z.output<typeof serviceConfigSchema>;

/** The admin token every service with admin routes requires: long enough not to be guessed by hand. */
export const adminTokenSchema = env.string({ minLength: 16 });
