import {
  chargedPayment,
  failedPayment,
  isFinal,
  samePaymentRequest,
  type Payment,
} from './payment';

const pending: Payment = {
  id: 'pay-1',
  orderId: 'order-1',
  amount: 1999,
  currency: 'EUR',
  status: 'pending',
  failureReason: 'gateway_outcome_unknown',
  attempts: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
};

describe('chargedPayment: the payment once a gateway answered', () => {
  it('is approved with the charge id and the gateway that made it, one more attempt counted', () => {
    const charged = chargedPayment(pending, 'payment-gateway', { id: 'ch_1', status: 'approved' });
    expect(charged).toMatchObject({
      status: 'approved',
      chargeId: 'ch_1',
      gateway: 'payment-gateway',
      attempts: 2,
    });
    expect(isFinal(charged)).toBe(true);
    expect(charged.declineCode).toBeUndefined();
  });

  it('is declined with the decline code: a final business answer', () => {
    const charged = chargedPayment(pending, 'payment-gateway', {
      id: 'ch_2',
      status: 'declined',
      declineCode: 'insufficient_funds',
    });
    expect(charged).toMatchObject({ status: 'declined', declineCode: 'insufficient_funds' });
    expect(isFinal(charged)).toBe(true);
  });

  it.each(['processing', 'pending', 'failed'] as const)('is not final while %s', (status) => {
    expect(isFinal({ ...pending, status })).toBe(false);
  });
});

describe('failedPayment: the payment once an attempt failed', () => {
  it('is failed with its reason and one more attempt counted, and not final (its key may retry)', () => {
    const failed = failedPayment(pending, 'settlement_failed');
    expect(failed).toMatchObject({
      status: 'failed',
      failureReason: 'settlement_failed',
      attempts: 2,
      id: 'pay-1',
    });
    expect(isFinal(failed)).toBe(false);
  });
});

describe('samePaymentRequest: one Idempotency-Key, one payment', () => {
  it('holds for the same order, amount and currency, and for nothing else', () => {
    const request = { orderId: 'order-1', amount: 1999, currency: 'EUR' };
    expect(samePaymentRequest(request, { ...request })).toBe(true);
    expect(samePaymentRequest(request, { ...request, orderId: 'order-2' })).toBe(false);
    expect(samePaymentRequest(request, { ...request, amount: 2000 })).toBe(false);
    expect(samePaymentRequest(request, { ...request, currency: 'USD' })).toBe(false);
  });
});
