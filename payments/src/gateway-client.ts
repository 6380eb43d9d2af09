import {
  createHttpClient,
  isConnectionRefused,
  isTimeout,
  isTransportError,
  type Logger,
} from '@cb-lab/shared';
import type { AxiosInstance } from 'axios';

export interface ChargeRequest {
  amount: number;
  currency: string;
  /** Our payment id: the gateway's reference and idempotency key, so a retry never charges twice. */
  reference: string;
}

export interface GatewayCharge {
  id: string;
  status: 'approved' | 'declined';
  declineCode?: string;
}

/**
 * The gateway could not give a business answer: it timed out, refused the
 * connection or answered 5xx/429. These, and only these, count against the
 * breaker; a decline is an answer, not a failure.
 */
export class GatewayUnavailableError extends Error {
  override readonly name = 'GatewayUnavailableError';

  constructor(
    message: string,
    /** `refused`: the request never reached the gateway; `transport`: the connection broke (maybe after it did). */
    readonly kind: 'timeout' | 'refused' | 'transport' | 'server_error',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export const isGatewayUnavailable = (error: unknown): error is GatewayUnavailableError =>
  error instanceof GatewayUnavailableError;

/** The gateway refused our request as malformed (4xx): our bug, not its outage. */
export class GatewayRejectedError extends Error {
  override readonly name = 'GatewayRejectedError';

  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`The gateway rejected the charge request with HTTP ${status}`);
  }
}

const RETRYABLE_STATUS = (status: number): boolean =>
  status >= 500 || status === 429 || status === 408;

export class GatewayClient {
  readonly #http: AxiosInstance;

  constructor({
    baseURL,
    timeoutMs,
    logger,
  }: {
    baseURL: string;
    timeoutMs: number;
    logger: Logger;
  }) {
    this.#http = createHttpClient({ name: 'payment-gateway', baseURL, timeoutMs, logger });
  }

  async charge(request: ChargeRequest, signal?: AbortSignal): Promise<GatewayCharge> {
    let response;
    try {
      response = await this.#http.post<GatewayCharge>('/charges', request, {
        headers: { 'Idempotency-Key': request.reference },
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      // An aborted signal means our own time budget ran out: that is the gateway being slow.
      if (isTimeout(error) || signal?.aborted === true) {
        throw new GatewayUnavailableError('The gateway did not answer in time', 'timeout', {
          cause: error,
        });
      }
      if (isTransportError(error)) {
        throw new GatewayUnavailableError(
          `The gateway could not be reached: ${(error as Error).message || String((error as { code?: unknown }).code)}`,
          isConnectionRefused(error) ? 'refused' : 'transport',
          { cause: error },
        );
      }
      throw error;
    }
    if (response.status === 201 || response.status === 200) return response.data;
    if (RETRYABLE_STATUS(response.status)) {
      throw new GatewayUnavailableError(
        `The gateway answered HTTP ${response.status}`,
        'server_error',
      );
    }
    throw new GatewayRejectedError(response.status, response.data);
  }
}
