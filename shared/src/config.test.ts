import { z } from 'zod';
import { env, loadConfig, recordRetentionShape, serviceConfigShape } from './config';
import { problemsOf } from './config.fixture';

const schema = z.object({
  ...serviceConfigShape,
  REDIS_URL: env.url({ protocols: ['redis:'] }),
  ADMIN_TOKEN: env.string({ minLength: 16 }),
  MODE: env.oneOf(['reject', 'queue'], 'reject'),
});

const rejected = (env: NodeJS.ProcessEnv) => problemsOf(schema, env);

describe('loadConfig', () => {
  const valid = { REDIS_URL: 'redis://redis:6379', ADMIN_TOKEN: 'a-long-enough-token' };

  it('applies defaults and parses numbers', () => {
    const config = loadConfig(schema, { ...valid, PORT: '9000' });
    expect(config).toMatchObject({
      PORT: 9000,
      LOG_LEVEL: 'info',
      MODE: 'reject',
      BODY_LIMIT_BYTES: 16_384,
    });
    expect(typeof config.INSTANCE).toBe('string');
  });

  it('names every bad variable, what it expected and what it got', () => {
    const problems = rejected({
      PORT: 'abc',
      REDIS_URL: 'http://x',
      MODE: 'panic',
      SHUTDOWN_TIMEOUT_MS: '-1',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        'PORT: expected an integer from 0 to 65535 (got "abc")',
        'SHUTDOWN_TIMEOUT_MS: expected an integer from 0 to 120000 (got "-1")',
        'MODE: expected one of reject, queue (got "panic")',
        'ADMIN_TOKEN: expected at least 16 characters (it is not set)',
      ]),
    );
    expect(problems.find((p) => p.startsWith('REDIS_URL'))).toBe(
      'REDIS_URL: expected a URL starting with redis:// (got a value that was hidden)',
    );
  });

  it('never echoes the value of a secret', () => {
    const problems = rejected({ ...valid, ADMIN_TOKEN: 'short-secret' });
    expect(problems).toEqual([
      'ADMIN_TOKEN: expected at least 16 characters (got a value that was hidden)',
    ]);
    expect(problems.join()).not.toContain('short-secret');
  });

  it('rejects ports out of range and fractional numbers', () => {
    expect(rejected({ ...valid, PORT: '70000' })).toEqual([
      'PORT: expected an integer from 0 to 65535 (got "70000")',
    ]);
    expect(rejected({ ...valid, PORT: '80.5' })).toEqual([
      'PORT: expected an integer from 0 to 65535 (got "80.5")',
    ]);
  });

  it('reports all problems in one readable message', () => {
    expect(() => loadConfig(schema, {})).toThrow(
      /Invalid configuration:\n {2}- REDIS_URL: .*\n {2}- ADMIN_TOKEN: /,
    );
  });
});

describe('env builders', () => {
  const schema = z.object({
    RATIO: env.number({ min: 0, max: 1, default: 0.5 }),
    SLOW_MS: env.optionalInt({ min: 1 }),
  });

  it('parses decimals and leaves optional integers undefined', () => {
    expect(loadConfig(schema, {})).toEqual({ RATIO: 0.5, SLOW_MS: undefined });
    expect(loadConfig(schema, { RATIO: '0.25', SLOW_MS: '300' })).toEqual({
      RATIO: 0.25,
      SLOW_MS: 300,
    });
  });

  it('takes only true or false for a boolean, and says so', () => {
    const flags = z.object({ ENABLED: env.boolean({ default: true }) });
    expect(loadConfig(flags, {})).toEqual({ ENABLED: true });
    expect(loadConfig(flags, { ENABLED: 'false' })).toEqual({ ENABLED: false });
    expect(() => loadConfig(flags, { ENABLED: 'no' })).toThrow(
      'ENABLED: expected true or false (got "no")',
    );
  });

  it('explains bad decimals and optional integers', () => {
    expect(() => loadConfig(schema, { RATIO: '1.5', SLOW_MS: 'soon' })).toThrow(
      /RATIO: expected a number from 0 to 1 \(got "1.5"\)\n {2}- SLOW_MS: expected an integer from 1 to/,
    );
  });
});

describe('recordRetentionShape', () => {
  const retention = z.object(recordRetentionShape);

  it('keeps records 6 hours by default, and takes 1 hour to 30 days', () => {
    expect(loadConfig(retention, {}).RECORD_RETENTION_HOURS).toBe(6);
    expect(loadConfig(retention, { RECORD_RETENTION_HOURS: '720' }).RECORD_RETENTION_HOURS).toBe(
      720,
    );
    for (const bad of ['0', '721', '1.5', 'a day'])
      expect(problemsOf(retention, { RECORD_RETENTION_HOURS: bad })).toEqual([
        `RECORD_RETENTION_HOURS: expected an integer from 1 to 720 (got ${JSON.stringify(bad)})`,
      ]);
  });
});
