import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpError } from './http-errors';

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * Guards admin routes with `Authorization: Bearer <token>`. Tokens are
 * compared as SHA-256 digests with `timingSafeEqual`, so neither the
 * content nor the length of the expected token leaks through timing.
 */
export function requireAdminToken(expectedToken: string): RequestHandler {
  const expected = digest(expectedToken);
  return (req, _res, next) => {
    const header = req.header('authorization');
    const match = header === undefined ? null : /^Bearer (\S+)$/i.exec(header);
    if (!match?.[1]) {
      next(
        new HttpError(
          401,
          'unauthorized',
          'Admin calls need an "Authorization: Bearer <token>" header',
          {
            'WWW-Authenticate': 'Bearer',
          },
        ),
      );
      return;
    }
    if (!timingSafeEqual(digest(match[1]), expected)) {
      next(new HttpError(403, 'forbidden', 'The admin token is not valid'));
      return;
    }
    next();
  };
}
