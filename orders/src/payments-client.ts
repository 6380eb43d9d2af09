import {
  callFailureOf,
  createHttpClient,
  isUnavailableStatus,
  neverDelivered,
  type Logger,
} from '@cb-lab/shared';
import type { AxiosInstance, AxiosResponse } from 'axios';
import type { Order } from './order';
import { answerOfPayment, type PaymentAnswer, type PaymentState } from './payment-answer';
import type { ReplicaBalancer } from './replica-balancer';

interface PaymentBody {
  id?: unknown;
  status?: unknown;
  declineCode?: unknown;
  failureReason?: unknown;
  error?: unknown;
}

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
        this.#http.post<PaymentBody>(
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
    let response: AxiosResponse<PaymentBody>;
    try {
      response = await firstAccepting(await this.#replicas(), (replica) =>
        this.#http.get<PaymentBody>(`${replica}/payments/${encodeURIComponent(paymentId)}`),
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
    const payment = status === 200 ? paymentStateOf(data) : undefined;
    if (payment === undefined)
      throw new Error(`payments answered ${status} for payment ${paymentId}`);
    return answerOfPayment(payment);
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

const optionalString = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : undefined;

function paymentStateOf(data: PaymentBody): PaymentState | undefined {
  if (typeof data.id !== 'string' || typeof data.status !== 'string') return undefined;
  const declineCode = optionalString(data.declineCode);
  const failureReason = optionalString(data.failureReason);
  return {
    id: data.id,
    status: data.status,
    ...(declineCode === undefined ? {} : { declineCode }),
    ...(failureReason === undefined ? {} : { failureReason }),
  };
}

function toAnswer({ status, data }: AxiosResponse<PaymentBody>): PaymentAnswer {
  const payment = status >= 200 && status < 300 ? paymentStateOf(data) : undefined;
  if (payment !== undefined) return answerOfPayment(payment);
  const reason = typeof data.error === 'string' ? data.error : `payments_http_${status}`;
  // Payments lost its store or failed unexpectedly part-way: it may have charged before that.
  if (reason === 'store_unavailable' || status === 500) return { outcome: 'unknown', reason };
  return { outcome: 'failed', reason };
}
