import { z } from 'zod';
import { parseInput } from './validation';

/** The largest amount the lab accepts, in minor units (one million in a two-decimal currency). */
export const MAX_AMOUNT_MINOR = 100_000_000;

/** ISO 4217 codes as known to the ICU data Node.js ships with. */
const CURRENCIES: ReadonlySet<string> = new Set(Intl.supportedValuesOf('currency'));

export const isCurrencyCode = (code: string): boolean => CURRENCIES.has(code);

export const amountSchema = z
  .number({ error: 'expected a positive integer amount in minor units (e.g. 1999 for 19.99)' })
  .int('expected a whole number of minor units (e.g. 1999 for 19.99)')
  .positive('expected a positive amount in minor units')
  .max(MAX_AMOUNT_MINOR, `expected at most ${MAX_AMOUNT_MINOR} minor units`);

export const currencySchema = z
  .string({ error: 'expected an ISO 4217 currency code such as "EUR"' })
  .refine(isCurrencyCode, 'expected a known ISO 4217 currency code in upper case, such as "EUR"');

/** A caller-chosen key that makes a retried POST safe: same key, same effect. */
export const idempotencyKeySchema = z
  .string({ error: 'the Idempotency-Key header is required' })
  .regex(/^[\w.:-]{1,128}$/, 'expected 1 to 128 letters, digits or . _ : -');

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';

interface HeaderSource {
  header(name: string): string | undefined;
}

/**
 * The request's Idempotency-Key, validated; `undefined` when the client sent
 * none and `required` is false, a 400 naming the header when it is invalid.
 */
export function idempotencyKeyOf(req: HeaderSource, options: { required: true }): string;
export function idempotencyKeyOf(
  req: HeaderSource,
  options: { required: false },
): string | undefined;
export function idempotencyKeyOf(
  req: HeaderSource,
  { required }: { required: boolean },
): string | undefined {
  const raw = req.header(IDEMPOTENCY_KEY_HEADER);
  if (raw === undefined && !required) return undefined;
  return parseInput(idempotencyKeySchema, raw, 'Idempotency-Key header');
}
