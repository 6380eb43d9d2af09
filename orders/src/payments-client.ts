import { errorBodySchema, paymentSchema } from '@cb-lab/contracts';
import {
  callFailureOf,
  createHttpClient,
  isUnavailableStatus,
  neverDelivered,
  type Logger,
} from '@cb-lab/shared';
import type { AxiosInstance, AxiosResponse } from 'axios';
import type { Order } from './order';
import { answerOfPayment, type PaymentAnswer } from './payment-answer';
import type { ReplicaBalancer } from './replica-balancer';

/** Payments could not be asked: unreachable, too slow, or unable to serve (5xx, 408, 429). */
export class PaymentsUnavailableError extends Error {
  override readonly name = 'PaymentsUnavailableError';
}

export const isPaymentsUnavailable = (error: unknown): error is PaymentsUnavailableError =>
  error instanceof PaymentsUnavailableError;

/** A refused connection never reached a replica, so trying another is always safe; this bounds how many. */
const MAX_REPLICAS_TRIED = 3;

export class PaymentsClient {
  readonly #http: AxiosInstance;

  constructor(
    private readonly balancer: ReplicaBalancer,
    { timeoutMs, logger }: { timeoutMs: number; logger: Logger },
  ) {
    this.#http = createHttpClient({ name: 'payments', timeoutMs, logger });
  }

  /** Pays for `order`, using the order id as the Idempotency-Key so a retry can never pay twice. */
  async pay(order: Order): Promise<PaymentAnswer> {
    const replicas = await this.#replicas();
    try {
      const response = await firstAccepting(replicas, (replica) =>
        this.#http.post<unknown>(
          `${replica}/payments`,
          { orderId: order.id, amount: order.amount, currency: order.currency },
          { headers: { 'Idempotency-Key': order.id } },
        ),
      );
      return toAnswer(response);
    } catch (error) {
      const failure = callFailureOf(error);
      if (failure === 'timeout') return { outcome: 'unknown', reason: 'payments_timeout' };
      // Refused by every replica tried: the request never reached payments.
      if (neverDelivered(failure)) return { outcome: 'failed', reason: 'payments_unavailable' };
      return { outcome: 'unknown', reason: 'payments_connection_lost' };
    }
  }

  /**
   * What the stored payment says now, or undefined when payments does not
   * know it. Throws a {@link PaymentsUnavailableError} when payments cannot be
   * asked, and a plain error for an answer it should never give, so a caller
   * can tell "unknown" from "no answer" from "broken".
   */
  async find(paymentId: string): Promise<PaymentAnswer | undefined> {
    let response: AxiosResponse<unknown>;
    try {
      response = await firstAccepting(await this.#replicas(), (replica) =>
        this.#http.get<unknown>(`${replica}/payments/${encodeURIComponent(paymentId)}`),
      );
    } catch (error) {
      if (callFailureOf(error) === undefined) throw error;
      throw new PaymentsUnavailableError(`payments could not be asked about ${paymentId}`, {
        cause: error,
      });
    }
    const { status, data } = response;
    if (status === 404) return undefined;
    if (isUnavailableStatus(status))
      throw new PaymentsUnavailableError(`payments answered ${status} for payment ${paymentId}`);
    const payment = status === 200 ? paymentSchema.safeParse(data) : undefined;
    if (!payment?.success)
      throw new Error(`payments answered ${status} for payment ${paymentId} with no payment in it`);
    return answerOfPayment(payment.data);
  }

  async #replicas(): Promise<string[]> {
    return (await this.balancer.replicas()).slice(0, MAX_REPLICAS_TRIED);
  }
}

/**
 * Sends through the first replica that accepts the connection. A refused
 * connection never reached a replica, so moving on is always safe; any other
 * error may have, so it ends the attempt.
 */
async function firstAccepting<T>(
  replicas: readonly string[],
  send: (replica: string) => Promise<AxiosResponse<T>>,
): Promise<AxiosResponse<T>> {
  let lastError: unknown = new Error('no payments replica to call');
  for (const replica of replicas) {
    try {
      return await send(replica);
    } catch (error) {
      lastError = error;
      if (!neverDelivered(callFailureOf(error))) break;
    }
  }
  throw lastError;
}

function toAnswer({ status, data }: AxiosResponse<unknown>): PaymentAnswer {
  const payment = status >= 200 && status < 300 ? paymentSchema.safeParse(data) : undefined;
  if (payment?.success) return answerOfPayment(payment.data);
  const error = errorBodySchema.safeParse(data);
  const reason = error.success ? error.data.error : `payments_http_${status}`;
  // Payments lost its store (or found it full) or failed unexpectedly part-way: it may have
  // charged before that.
  if (reason === 'store_unavailable' || reason === 'store_full' || status === 500)
    return { outcome: 'unknown', reason };
  return { outcome: 'failed', reason };
}
