import { createHttpClient, isConnectionRefused, isTimeout, type Logger } from '@cb-lab/shared';
import type { AxiosInstance, AxiosResponse } from 'axios';
import type { Order } from './order';
import type { ReplicaBalancer } from './replica-balancer';

/** What became of an order's payment, as far as orders needs to know. */
export type PaymentAnswer =
  | { outcome: 'approved'; paymentId: string }
  | { outcome: 'declined'; paymentId: string; reason: string }
  | { outcome: 'pending'; paymentId: string }
  /** Payments said no charge was made (the breaker was open, the gateway refused, a 4xx). */
  | { outcome: 'failed'; reason: string }
  /**
   * No answer that says what happened: the call timed out, its connection broke after it was
   * sent, or payments could not reach its own store. Payments may have charged; asking again
   * with the same Idempotency-Key finds out.
   */
  | { outcome: 'unknown'; reason: string };

/** A payment as payments stores it, reduced to what can settle a pending order. */
export interface PaymentState {
  /** `approved` and `declined` are final; anything else (`pending`, `processing`, `failed`) may still change. */
  status: string;
  declineCode?: string;
}

interface PaymentBody {
  id?: unknown;
  status?: unknown;
  declineCode?: unknown;
  error?: unknown;
}

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
      if (isTimeout(error)) return { outcome: 'unknown', reason: 'payments_timeout' };
      // Refused by every replica tried: the request never reached payments.
      if (isConnectionRefused(error)) return { outcome: 'failed', reason: 'payments_unavailable' };
      return { outcome: 'unknown', reason: 'payments_connection_lost' };
    }
  }

  /**
   * The payment's current state, or undefined when payments does not know
   * it. Throws when payments cannot be asked (unreachable, too slow, or an
   * unexpected answer), so a caller can tell "unknown" from "no answer".
   */
  async find(paymentId: string): Promise<PaymentState | undefined> {
    const { status, data } = await firstAccepting(await this.#replicas(), (replica) =>
      this.#http.get<PaymentBody>(`${replica}/payments/${encodeURIComponent(paymentId)}`),
    );
    if (status === 404) return undefined;
    if (status !== 200 || typeof data.status !== 'string')
      throw new Error(`payments answered ${status} for payment ${paymentId}`);
    return {
      status: data.status,
      ...(typeof data.declineCode === 'string' ? { declineCode: data.declineCode } : {}),
    };
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
      if (!isConnectionRefused(error)) break;
    }
  }
  throw lastError;
}

function toAnswer({ status, data }: AxiosResponse<PaymentBody>): PaymentAnswer {
  const paymentId = typeof data.id === 'string' ? data.id : undefined;
  if ((status === 200 || status === 201) && paymentId !== undefined) {
    if (data.status === 'approved') return { outcome: 'approved', paymentId };
    if (data.status === 'declined') {
      return {
        outcome: 'declined',
        paymentId,
        reason: typeof data.declineCode === 'string' ? data.declineCode : 'declined',
      };
    }
  }
  if (status === 202 && paymentId !== undefined) return { outcome: 'pending', paymentId };
  const reason = typeof data.error === 'string' ? data.error : `payments_http_${status}`;
  // Payments lost its store or failed unexpectedly part-way: it may have charged before that.
  if (reason === 'store_unavailable' || status === 500) return { outcome: 'unknown', reason };
  return { outcome: 'failed', reason };
}
