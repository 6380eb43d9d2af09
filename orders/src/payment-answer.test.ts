import { answerOfPayment, settlementOf, type PaymentAnswer } from './payment-answer';

describe('settlementOf: what an order becomes once its payment answered', () => {
  it.each<[string, PaymentAnswer, ReturnType<typeof settlementOf>]>([
    [
      'approved pays it',
      { outcome: 'approved', paymentId: 'p1' },
      { status: 'paid', paymentId: 'p1' },
    ],
    [
      'declined fails it with the decline code',
      { outcome: 'declined', paymentId: 'p1', reason: 'insufficient_funds' },
      { status: 'payment_failed', paymentId: 'p1', failureReason: 'insufficient_funds' },
    ],
    [
      'failed fails it with the reason',
      { outcome: 'failed', reason: 'circuit_open' },
      { status: 'payment_failed', failureReason: 'circuit_open' },
    ],
    [
      'a queued payment given up fails it, keeping the payment id',
      { outcome: 'failed', paymentId: 'p1', reason: 'settlement_failed' },
      { status: 'payment_failed', paymentId: 'p1', failureReason: 'settlement_failed' },
    ],
    [
      'pending leaves it pending, following the payment id',
      { outcome: 'pending', paymentId: 'p1' },
      { status: 'payment_pending', paymentId: 'p1' },
    ],
    [
      'unknown leaves it pending, with no reason recorded',
      { outcome: 'unknown', reason: 'payments_timeout' },
      { status: 'payment_pending' },
    ],
  ])('%s', (_case, answer, settlement) => {
    expect(settlementOf(answer)).toEqual(settlement);
  });
});

describe('answerOfPayment: the answer a stored payment gives', () => {
  it('is final for approved, declined and failed payments', () => {
    expect(answerOfPayment({ id: 'p1', status: 'approved' })).toEqual({
      outcome: 'approved',
      paymentId: 'p1',
    });
    expect(
      answerOfPayment({ id: 'p1', status: 'declined', declineCode: 'insufficient_funds' }),
    ).toEqual({ outcome: 'declined', paymentId: 'p1', reason: 'insufficient_funds' });
    expect(answerOfPayment({ id: 'p1', status: 'declined' })).toMatchObject({ reason: 'declined' });
    expect(
      answerOfPayment({ id: 'p1', status: 'failed', failureReason: 'settlement_failed' }),
    ).toEqual({ outcome: 'failed', paymentId: 'p1', reason: 'settlement_failed' });
  });

  it.each(['pending', 'processing'] as const)('is pending while the payment is %s', (status) => {
    expect(answerOfPayment({ id: 'p1', status })).toEqual({
      outcome: 'pending',
      paymentId: 'p1',
    });
  });
});
