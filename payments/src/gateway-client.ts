import { CALLER_HEADER, chargeSchema, type Charge, type ChargeRequest } from '@cb-lab/contracts';
import { callFailureOf, createHttpClient, type Logger } from '@cb-lab/shared';
import type { AxiosInstance } from 'axios';
import {
  GatewayRejectedError,
  GatewayUnavailableError,
  gatewayAwayStatus,
} from './gateway-failures';

/** What payments sends: its payment id is the gateway's reference and idempotency key. */
export type { ChargeRequest } from '@cb-lab/contracts';

/** The gateway's answer to a charge: approved, or declined with a code. */
export type GatewayCharge = Charge;

export class GatewayClient {
  readonly #http: AxiosInstance;
  readonly #caller: string;

  constructor({
    baseURL,
    timeoutMs,
    logger,
    caller,
  }: {
    baseURL: string;
    timeoutMs: number;
    logger: Logger;
    /** This replica's id, sent in `Caller-Replica` so a gateway fault can be limited to it. */
    caller: string;
  }) {
    this.#http = createHttpClient({ name: 'payment-gateway', baseURL, timeoutMs, logger });
    this.#caller = caller;
  }

  async charge(request: ChargeRequest, signal?: AbortSignal): Promise<GatewayCharge> {
    let response;
    try {
      response = await this.#http.post<unknown>('/charges', request, {
        headers: { 'Idempotency-Key': request.reference, [CALLER_HEADER]: this.#caller },
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (error) {
      // An aborted signal means our own time budget ran out: that is the gateway being slow.
      const failure = signal?.aborted === true ? 'timeout' : callFailureOf(error);
      if (failure === 'timeout') {
        throw new GatewayUnavailableError('The gateway did not answer in time', 'timeout', {
          cause: error,
        });
      }
      if (failure !== undefined) {
        throw new GatewayUnavailableError(
          `The gateway could not be reached: ${(error as Error).message || String((error as { code?: unknown }).code)}`,
          failure,
          { cause: error },
        );
      }
      throw error;
    }
    if (response.status === 201 || response.status === 200) {
      const charge = chargeSchema.safeParse(response.data);
      if (charge.success) return charge.data;
      // It said yes to something: the charge may be made, so this is treated as a broken answer.
      throw new GatewayUnavailableError(
        `The gateway answered ${response.status} with a body that is not a charge: ${charge.error.issues[0]?.message ?? ''}`,
        'broken',
      );
    }
    if (gatewayAwayStatus(response.status)) {
      throw new GatewayUnavailableError(
        `The gateway answered HTTP ${response.status}`,
        'server_error',
      );
    }
    throw new GatewayRejectedError(response.status, response.data);
  }
}
