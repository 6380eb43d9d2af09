import type { OrderRequest } from '@cb-lab/contracts';

export {
  FINAL_ORDER_STATUSES,
  type Order,
  type OrderRequest,
  type OrderStatus,
} from '@cb-lab/contracts';

/** Orders are kept a week: long enough for any lab session, bounded for a load generator left running. */
export const ORDER_TTL_SECONDS = 7 * 24 * 3600;

export const sameOrderRequest = (a: OrderRequest, b: OrderRequest): boolean =>
  a.customerId === b.customerId && a.amount === b.amount && a.currency === b.currency;
