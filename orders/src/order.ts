/**
 * `processing` only while the payment call is under way; every order then
 * ends in `paid`, `payment_pending` (the payment will settle later) or
 * `payment_failed`.
 */
export type OrderStatus = 'processing' | 'paid' | 'payment_pending' | 'payment_failed';

export const FINAL_ORDER_STATUSES = [
  'paid',
  'payment_failed',
] as const satisfies readonly OrderStatus[];

export interface OrderRequest {
  customerId: string;
  amount: number;
  currency: string;
}

export interface Order extends OrderRequest {
  id: string;
  status: OrderStatus;
  paymentId?: string;
  /** Why the payment failed: `insufficient_funds`, `circuit_open`, `gateway_unavailable`, `payments_unavailable`, … */
  failureReason?: string;
  createdAt: string;
  updatedAt: string;
}

/** Orders are kept a week: long enough for any lab session, bounded for a load generator left running. */
export const ORDER_TTL_SECONDS = 7 * 24 * 3600;

export const sameOrderRequest = (a: OrderRequest, b: OrderRequest): boolean =>
  a.customerId === b.customerId && a.amount === b.amount && a.currency === b.currency;
