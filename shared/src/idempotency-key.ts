import { z } from 'zod';
import { HttpError } from './http-errors';
import { parseInput } from './validation';

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

/**
 * The 422 every service answers when an Idempotency-Key comes back with
 * another request than the one it was first used for: `owner` names what the
 * key belongs to, `differs` what was different.
 */
export const idempotencyKeyReused = (key: string, owner: string, differs: string): HttpError =>
  new HttpError(
    422,
    'idempotency_key_reused',
    `Idempotency-Key ${key} belongs to ${owner}, which has another ${differs}`,
  );
