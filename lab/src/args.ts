import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULT_ENDPOINTS, LabError, type StackEndpoints } from './stack';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Options every command takes: where the stack answers. */
export const ENDPOINT_OPTIONS = {
  orders: { type: 'string' },
  payments: { type: 'string' },
  gateway: { type: 'string' },
  prometheus: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpec;

export const ENDPOINT_HELP = `
Where the stack answers (flags, or environment variables):
  --orders URL        LAB_ORDERS_URL       default ${DEFAULT_ENDPOINTS.orders}
  --payments URLS     LAB_PAYMENTS_URLS    default ${DEFAULT_ENDPOINTS.payments.join(',')}
  --gateway URL       LAB_GATEWAY_URL      default ${DEFAULT_ENDPOINTS.gateway}
  --prometheus URL    LAB_PROMETHEUS_URL   default ${DEFAULT_ENDPOINTS.prometheus}
  --token TOKEN       ADMIN_TOKEN          default ${DEFAULT_ENDPOINTS.adminToken}`;

type Parsed<O extends OptionSpec> = ReturnType<
  typeof parseArgs<{
    args: string[];
    options: typeof ENDPOINT_OPTIONS & O;
    allowPositionals: true;
    strict: true;
  }>
>;

/**
 * Parses a command's arguments, turning parseArgs' errors into a LabError
 * that names the command. `positionals` says how many words the command takes.
 */
export function parse<O extends OptionSpec>(
  command: string,
  argv: string[],
  options: O,
  positionals: { min: number; max: number } = { min: 0, max: 0 },
): Parsed<O> {
  const help = `See: npm run lab -- ${command} --help`;
  let parsed: Parsed<O>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...ENDPOINT_OPTIONS, ...options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new LabError(`${(error as Error).message}. ${help}`);
  }
  const words = parsed.positionals;
  if (words.length > positionals.max) {
    throw new LabError(
      `unexpected ${JSON.stringify(words.slice(positionals.max).join(' '))}. ${help}`,
    );
  }
  if (words.length < positionals.min) throw new LabError(`missing argument. ${help}`);
  return parsed;
}

export function endpointsFrom(
  values: Partial<Record<keyof typeof ENDPOINT_OPTIONS, unknown>>,
): StackEndpoints {
  const env = process.env;
  const pick = (flag: unknown, variable: string | undefined, fallback: string): string =>
    (typeof flag === 'string' ? flag : variable) ?? fallback;
  const url = (name: string, value: string): string => {
    try {
      return new URL(value).origin;
    } catch {
      throw new LabError(
        `${name}: expected a URL such as http://localhost:8080 (got ${JSON.stringify(value)})`,
      );
    }
  };
  const payments = pick(
    values.payments,
    env.LAB_PAYMENTS_URLS,
    DEFAULT_ENDPOINTS.payments.join(','),
  );
  return {
    orders: url('--orders', pick(values.orders, env.LAB_ORDERS_URL, DEFAULT_ENDPOINTS.orders)),
    payments: payments.split(',').map((value) => url('--payments', value.trim())),
    gateway: url('--gateway', pick(values.gateway, env.LAB_GATEWAY_URL, DEFAULT_ENDPOINTS.gateway)),
    prometheus: url(
      '--prometheus',
      pick(values.prometheus, env.LAB_PROMETHEUS_URL, DEFAULT_ENDPOINTS.prometheus),
    ),
    adminToken: pick(values.token, env.ADMIN_TOKEN, DEFAULT_ENDPOINTS.adminToken),
  };
}

/** `30s`, `2m`, `500ms`, or a bare number of seconds. */
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export function parseDuration(name: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!match)
    throw new LabError(
      `${name}: expected a duration such as 30s, 2m, 1h or 500ms (got ${JSON.stringify(value)})`,
    );
  const amount = Number(match[1]);
  const ms = amount * UNIT_MS[(match[2] ?? 's') as keyof typeof UNIT_MS];
  if (ms <= 0)
    throw new LabError(`${name}: expected a duration above zero (got ${JSON.stringify(value)})`);
  return ms;
}

/** A number within bounds, with an error that names the flag. */
export function parseNumber(name: string, value: string, min: number, max: number): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number < min || number > max) {
    throw new LabError(
      `${name}: expected a number from ${min} to ${max} (got ${JSON.stringify(value)})`,
    );
  }
  return number;
}
