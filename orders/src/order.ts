import type { OrderRequest } from '@cb-lab/contracts';

export {
  FINAL_ORDER_STATUSES,
  type Order,
  type OrderRequest,
  type OrderStatus,
} from '@cb-lab/contracts';

export const sameOrderRequest = (a: OrderRequest, b: OrderRequest): boolean =>
  a.customerId === b.customerId && a.amount === b.amount && a.currency === b.currency;
