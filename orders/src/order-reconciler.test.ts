import { settlementFor } from './order-reconciler';

describe('settlementFor', () => {
  it('pays the order when its payment was approved', () => {
    expect(settlementFor({ status: 'approved' })).toEqual({ status: 'paid' });
  });

  it('fails the order with the decline code when its payment was declined', () => {
    expect(settlementFor({ status: 'declined', declineCode: 'insufficient_funds' })).toEqual({
      status: 'payment_failed',
      failureReason: 'insufficient_funds',
    });
    expect(settlementFor({ status: 'declined' })).toEqual({
      status: 'payment_failed',
      failureReason: 'declined',
    });
  });

  it.each(['pending', 'processing', 'failed', 'something-new'])(
    'leaves the order pending while its payment is %s',
    (status) => {
      expect(settlementFor({ status })).toBeUndefined();
    },
  );
});
