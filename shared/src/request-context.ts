import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';

export const REQUEST_ID_HEADER = 'x-request-id';

/** What follows one inbound request through every await: its id, for logs and downstream calls. */
export interface RequestContext {
  readonly requestId: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Ids a client may choose; anything else is replaced so logs cannot be forged or flooded. */
const ACCEPTABLE_REQUEST_ID = /^[\w.:-]{1,128}$/;

export const currentRequestId = (): string | undefined => storage.getStore()?.requestId;

/** Runs `fn` with `requestId` as the current request id (for work started outside express). */
export const runWithRequestId = <T>(requestId: string, fn: () => T): T =>
  storage.run({ requestId }, fn);

export const newRequestId = (): string => randomUUID();

/**
 * Takes `x-request-id` from the request (or makes one), echoes it on the
 * response and keeps it for everything the request does.
 */
export const requestContext = (): RequestHandler => (req, res, next) => {
  const offered = req.header(REQUEST_ID_HEADER);
  const requestId = offered && ACCEPTABLE_REQUEST_ID.test(offered) ? offered : newRequestId();
  res.setHeader(REQUEST_ID_HEADER, requestId);
  storage.run({ requestId }, next);
};
