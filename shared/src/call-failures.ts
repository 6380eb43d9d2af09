import axios from 'axios';
import { isUnavailableStatus } from '@cb-lab/shared-breaker';

/**
 * What the lab's services decide about a call to another service that went
 * wrong, in one place: whether it got through, whether it may have been acted
 * on, whether the other side is away. Each service's own errors (payments'
 * gateway errors, orders' payment answers) are built on these.
 */

/**
 * How a call failed without an HTTP answer: it ran out of time (`timeout`),
 * its connection was refused so the request never left (`refused`), or the
 * connection broke once the request may have arrived (`broken`).
 */
export type CallFailure = 'timeout' | 'refused' | 'broken';

/** The call's failure below HTTP, or undefined when it got an answer or the caller cancelled it. */
export function callFailureOf(error: unknown): CallFailure | undefined {
  if (!axios.isAxiosError(error) || axios.isCancel(error)) return undefined;
  if (error.code === 'ETIMEDOUT' || error.code === 'ECONNABORTED') return 'timeout';
  if (error.response !== undefined) return undefined;
  if (error.code === 'ECONNREFUSED' || error.code === 'EHOSTUNREACH') return 'refused';
  return 'broken';
}

/** The request never reached the other side: sending it again, or to another replica, cannot do it twice. */
export const neverDelivered = (failure: CallFailure | undefined): boolean => failure === 'refused';

/**
 * The other side may have acted on the request although no answer came back: only asking again
 * with the same idempotency key can tell.
 */
export const mayHaveActed = (failure: CallFailure | undefined): boolean =>
  failure === 'timeout' || failure === 'broken';

/** An HTTP status that says the service cannot serve now (5xx, 408, 429): try later, not a "no". */
export { isUnavailableStatus };
