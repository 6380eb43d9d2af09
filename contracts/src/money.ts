import { z } from 'zod';

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

/** A caller-chosen identifier (customer, order, reference): 1 to 128 characters. */
export const identifierSchema = (what: string) =>
  z
    .string({ error: `expected ${what} as a string` })
    .min(1, `expected a non-empty ${what}`)
    .max(128, 'expected at most 128 characters');
