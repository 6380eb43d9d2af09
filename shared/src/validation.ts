import { z } from 'zod';
import { HttpError } from './http-errors';

/**
 * Parses a request body (or params, or headers) with `schema`, turning every
 * problem into one 400 whose message names each field and what it expected.
 */
export function parseInput<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what = 'request body',
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.join('.');
    return field === '' ? issue.message : `${field}: ${issue.message}`;
  });
  throw new HttpError(400, 'invalid_request', `Invalid ${what}: ${problems.join('; ')}`);
}
