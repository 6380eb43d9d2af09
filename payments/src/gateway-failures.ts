import type { PaymentFailureReason } from '@cb-lab/contracts';
import { HttpError, isUnavailableStatus, type CallFailure } from '@cb-lab/shared';
import { isTaskCancelled } from '@cb-lab/shared-breaker';
import { isBrokenCircuitError } from 'cockatiel';

/**
 * Every decision payments makes about a charge that did not come back as
 * approved or declined, in one place: what trips the breaker, what is safe
 * to send again, what may have charged, what waits for the gateway, what is
 * the gateway's answer, and what the client is told.
 */

/**
 * The gateway could not give an answer: it timed out, refused the connection
 * or answered 5xx, 408 or 429. These, and only these, count against the
 * breaker; a decline is an answer, not a failure.
 */
export class GatewayUnavailableError extends Error {
  override readonly name = 'GatewayUnavailableError';

  constructor(
    message: string,
    /** `refused`: the request never reached the gateway; `broken`: the connection broke (maybe after it did). */
    readonly kind: CallFailure | 'server_error',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export const isGatewayUnavailable = (error: unknown): error is GatewayUnavailableError =>
  error instanceof GatewayUnavailableError;

/** The gateway refused the charge request itself (a 4xx): an answer about this payment, not an outage. */
export class GatewayRejectedError extends Error {
  override readonly name = 'GatewayRejectedError';

  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`The gateway rejected the charge request with HTTP ${status}`);
  }
}

export const isGatewayRejected = (error: unknown): error is GatewayRejectedError =>
  error instanceof GatewayRejectedError;

/** Whether an answer's status means the gateway is away (try later) rather than saying no. */
export const gatewayAwayStatus = isUnavailableStatus;

/** Trips the gateway's breaker: the gateway failed to answer, or did not in our time. Declines and 4xx never do. */
export const countsAsGatewayFailure = (error: unknown): boolean =>
  isGatewayUnavailable(error) || isTaskCancelled(error);

/** A refused connection never reached the gateway, so trying once more cannot charge twice. */
export const neverReachedGateway = (error: unknown): boolean =>
  isGatewayUnavailable(error) && error.kind === 'refused';

/** Our timeout, or a connection that broke once the request was sent: the gateway may have charged. */
export const mayHaveCharged = (error: unknown): boolean =>
  isTaskCancelled(error) ||
  (isGatewayUnavailable(error) && (error.kind === 'timeout' || error.kind === 'broken'));

/** The gateway cannot take charges now (its breaker is open, or it failed to answer): try later. */
export const gatewayAway = (error: unknown): boolean =>
  isBrokenCircuitError(error) || countsAsGatewayFailure(error);

/**
 * What becomes of a payment whose charge threw: it waits in the queue for the
 * gateway to confirm (the charge may have been made), it goes to the
 * configured fallback, or it fails.
 */
export type ChargeFailureDecision = 'await confirmation' | 'fallback' | 'fail';

/**
 * The decision after the primary gateway's charge threw. Only a refusal by
 * the open breaker goes to the fallback, and never for a payment an earlier
 * attempt may still be charging: another gateway could charge it twice, and
 * failing it could lose the charge.
 */
export function afterPrimaryFailure(
  error: unknown,
  earlierAttemptUnknown: boolean,
): ChargeFailureDecision {
  if (isBrokenCircuitError(error)) return earlierAttemptUnknown ? 'await confirmation' : 'fallback';
  return mayHaveCharged(error) ? 'await confirmation' : 'fail';
}

/** The decision after the fallback (secondary) gateway's charge threw: there is no further fallback. */
export const afterFallbackFailure = (error: unknown): Exclude<ChargeFailureDecision, 'fallback'> =>
  mayHaveCharged(error) ? 'await confirmation' : 'fail';

/** Why a charge failed, as recorded on the payment and answered to the client. */
type ChargeFailureReason = Extract<
  PaymentFailureReason,
  'circuit_open' | 'gateway_unavailable' | 'gateway_error'
>;

/** The reason a charge that threw is recorded as failed for. */
export function failureReasonOf(error: unknown): ChargeFailureReason {
  if (isBrokenCircuitError(error)) return 'circuit_open';
  if (countsAsGatewayFailure(error)) return 'gateway_unavailable';
  return 'gateway_error';
}

/**
 * The HTTP error that tells the client why a charge failed. `retryAfterSeconds` is asked of the
 * breaker of the gateway whose call failed, so a refusal's Retry-After is that breaker's.
 */
export function paymentFailure(error: unknown, retryAfterSeconds: () => number): HttpError {
  const reason = failureReasonOf(error);
  switch (reason) {
    case 'circuit_open':
      return new HttpError(503, reason, 'The payment gateway circuit is open; try again later', {
        'Retry-After': String(retryAfterSeconds()),
      });
    case 'gateway_unavailable':
      return new HttpError(502, reason, `The payment gateway failed: ${(error as Error).message}`);
    default:
      return new HttpError(502, reason, 'The payment gateway rejected the charge request');
  }
}
