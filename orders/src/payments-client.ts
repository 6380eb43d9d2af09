import { createHttpClient, isConnectionRefused, isTimeout, type Logger } from '@cb-lab/shared';
import type { AxiosInstance, AxiosResponse } from 'axios';
import type { Order } from './order';
import type { ReplicaBalancer } from './replica-balancer';

/** What became of an order's payment, as far as orders needs to know. */
export type PaymentAnswer =
  | { outcome: 'approved'; paymentId: string }
  | { outcome: 'declined'; paymentId: string; reason: string }
  | { outcome: 'pending'; paymentId: string }
  | { outcome: 'failed'; reason: string };

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
    const replicas = (await this.balancer.replicas()).slice(0, MAX_REPLICAS_TRIED);
    let lastError: unknown;
    for (const replica of replicas) {
      try {
        const response = await this.#http.post<PaymentBody>(
          `${replica}/payments`,
          { orderId: order.id, amount: order.amount, currency: order.currency },
          { headers: { 'Idempotency-Key': order.id } },
        );
        return toAnswer(response);
      } catch (error) {
        lastError = error;
        if (!isConnectionRefused(error)) break;
      }
    }
    return {
      outcome: 'failed',
      reason: isTimeout(lastError) ? 'payments_timeout' : 'payments_unavailable',
    };
  }
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
  return {
    outcome: 'failed',
    reason: typeof data.error === 'string' ? data.error : `payments_http_${status}`,
  };
}
