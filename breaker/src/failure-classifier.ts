import { isTaskCancelled } from './task-cancelled';

/**
 * The default classifier: every error the protected function throws counts
 * against the breaker, as with cockatiel's `handleAll`, a timeout included.
 * Pass `isFailure` to count only some (see {@link isHttpDependencyFailure}).
 */
export function isAnyFailure(_error: unknown): boolean {
  return true;
}

/**
 * A classifier for HTTP calls, whatever the client: the dependency failing
 * to answer counts, the dependency saying no does not. Counted: cockatiel
 * timeouts, calls that got no response (refused, reset, timed out), 5xx,
 * 408 and 429. Not counted: other 4xx, which are answers (a decline, a
 * validation error), and calls the caller itself aborted. The status is
 * read from `response.status` (axios), `status` (fetch wrappers, ky) or
 * `statusCode` (got and others), so no HTTP client is imported.
 */
export function isHttpDependencyFailure(error: unknown): boolean {
  if (isTaskCancelled(error)) return true;
  const status = statusOf(error);
  if (status !== undefined) return isUnavailableStatus(status);
  return !abortedByCaller(error);
}

/**
 * An HTTP status that says the dependency could not serve the request now
 * (5xx, 408 Request Timeout, 429 Too Many Requests), as opposed to an answer
 * about the request itself (any other 4xx).
 */
export function isUnavailableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

interface HttpErrorShape {
  status?: unknown;
  statusCode?: unknown;
  code?: unknown;
  name?: unknown;
  response?: { status?: unknown } | null;
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const shape = error as HttpErrorShape;
  for (const status of [shape.response?.status, shape.status, shape.statusCode])
    if (typeof status === 'number') return status;
  return undefined;
}

/** The caller cancelled (an AbortSignal, axios's CanceledError): nothing was learned about the dependency. */
function abortedByCaller(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { name, code } = error as HttpErrorShape;
  return name === 'AbortError' || name === 'CanceledError' || code === 'ERR_CANCELED';
}
