import type { ErrorBody, ErrorCode } from '@cb-lab/contracts';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from './logger';
import { isRedisFull, isRedisUnavailable } from './redis-errors';

/**
 * An error meant for the client: its status, a stable machine-readable
 * `code` and a message a person can act on. Anything else thrown in a
 * handler is an internal error and is answered with a generic 500.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';

  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    /** Extra response headers, e.g. `Retry-After` on a 503. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  toBody(): ErrorBody {
    return { error: this.code, message: this.message };
  }
}

export const isHttpError = (error: unknown): error is HttpError => error instanceof HttpError;

export const notFound = (what: string): HttpError =>
  new HttpError(404, 'not_found', `${what} was not found`);

/** body-parser's errors carry a `type`; these are the client's fault and get a clear 4xx. */
const BODY_PARSER_ERRORS: Record<string, (error: { limit?: number }) => HttpError> = {
  'entity.parse.failed': () =>
    new HttpError(400, 'invalid_json', 'The request body is not valid JSON'),
  'entity.too.large': ({ limit }) =>
    new HttpError(
      413,
      'payload_too_large',
      `The request body is larger than ${limit ?? 'the limit of'} bytes`,
    ),
  'encoding.unsupported': () =>
    new HttpError(415, 'unsupported_encoding', 'The request body encoding is not supported'),
  'charset.unsupported': () =>
    new HttpError(415, 'unsupported_charset', 'The request body charset is not supported'),
  'request.aborted': () =>
    new HttpError(400, 'request_aborted', 'The client aborted the request body'),
};

/**
 * Client errors express raises with no body-parser `type` known above: a path
 * parameter with a malformed percent-escape (the router's URIError, status
 * 400), a body its Content-Encoding cannot decode (a zlib error body-parser
 * marks as an exposed 400). Left alone they would be answered as a 500. Only
 * errors marked as the client's (`expose`, as http-errors does) keep their
 * 4xx, so a 4xx that some dependency answered us never passes through.
 */
function untypedClientError(error: unknown): HttpError | undefined {
  const { status, expose, code } = (error ?? {}) as {
    status?: unknown;
    expose?: unknown;
    code?: unknown;
  };
  if (typeof status !== 'number' || status < 400 || status > 499) return undefined;
  if (error instanceof URIError)
    return new HttpError(400, 'invalid_path', 'The request path has a malformed percent-escape');
  if (expose !== true) return undefined;
  if (typeof code === 'string' && code.startsWith('Z_'))
    return new HttpError(
      400,
      'invalid_body',
      'The request body could not be decoded as its Content-Encoding says',
    );
  return new HttpError(status, 'bad_request', 'The request could not be read');
}

/** What a request gets when the Redis a service keeps its records in does not answer. */
const storeUnavailable = (): HttpError =>
  new HttpError(
    503,
    'store_unavailable',
    'Redis, where this service keeps its records, is not answering; try again shortly',
    { 'Retry-After': '1' },
  );

/**
 * What a request gets when that Redis is at its memory limit and refuses a write the request
 * needs (each write is one script or command: refused whole). Writes are taken again once older
 * records expire (RECORD_RETENTION_HOURS) or the lab is reset.
 */
const storeFull = (): HttpError =>
  new HttpError(
    503,
    'store_full',
    'Redis, where this service keeps its records, is at its memory limit and takes no new ' +
      'records until older ones expire; try again later',
    { 'Retry-After': '30' },
  );

function toHttpError(error: unknown): HttpError | undefined {
  if (isHttpError(error)) return error;
  if (isRedisFull(error)) return storeFull();
  if (isRedisUnavailable(error)) return storeUnavailable();
  const type = (error as { type?: unknown } | null)?.type;
  const known =
    typeof type === 'string' ? BODY_PARSER_ERRORS[type]?.(error as { limit?: number }) : undefined;
  return known ?? untypedClientError(error);
}

/** Answers every unknown route with the shared error shape. */
export const notFoundHandler: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'not_found', `No route for ${req.method} ${req.path}`));
};

/**
 * The central error handler: client errors are answered as they are,
 * anything unexpected is logged with its stack and answered as a bare 500
 * so no internal detail leaks.
 */
export const errorHandler =
  (logger: Logger): ErrorRequestHandler =>
  (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const httpError = toHttpError(error);
    if (httpError) {
      if (httpError.status >= 500)
        logger.warn('request failed', {
          status: httpError.status,
          code: httpError.code,
          reason: httpError.message,
        });
      res.status(httpError.status).set(httpError.headers).json(httpError.toBody());
      return;
    }
    logger.error('unhandled error', { method: req.method, path: req.path, error });
    const body: ErrorBody = { error: 'internal_error', message: 'An unexpected error occurred' };
    res.status(500).json(body);
  };
