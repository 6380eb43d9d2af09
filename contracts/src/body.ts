import { z } from 'zod';

/**
 * A request body object with the lab's one unknown-field policy: a field the
 * contract does not know is refused with a 400 that names it and lists the
 * known ones, so a typo (`ammount`) fails loudly instead of being ignored.
 * `expected` is the message for a body that is not an object at all.
 */
export function bodyObject<Shape extends z.core.$ZodLooseShape>(
  shape: Shape,
  expected: string,
): z.ZodObject<Shape, z.core.$strict> {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? unknownFields(issue.keys, known) : expected,
  });
}

/** The message for fields a body must not have: `unknown field "ammount" (expected only …)`. */
export const unknownFields = (keys: readonly string[], known: readonly string[]): string =>
  `unknown field${keys.length > 1 ? 's' : ''} ${keys.map((key) => `"${key}"`).join(', ')}` +
  ` (expected only ${known.join(', ')})`;

/** An ISO 8601 timestamp as the services write them (`Date.prototype.toISOString`). */
export const timestampSchema = z.iso.datetime();
