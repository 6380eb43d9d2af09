import { HttpError } from '@cb-lab/shared';
import { ChargeProcessor } from './charges';

const request = { amount: 1999, currency: 'EUR', reference: 'pay-1' };

describe('ChargeProcessor', () => {
  const processor = () => new ChargeProcessor({ cardLimitMinor: 10_000, cacheSize: 3 });

  it('approves charges up to the card limit and declines above it', async () => {
    const gateway = processor();
    expect((await gateway.charge({ ...request, amount: 10_000 }, undefined)).charge.status).toBe(
      'approved',
    );
    expect((await gateway.charge({ ...request, amount: 10_001 }, undefined)).charge).toMatchObject({
      status: 'declined',
      declineCode: 'insufficient_funds',
    });
  });

  it('answers a repeated idempotency key with the same charge, marked replayed', async () => {
    const gateway = processor();
    const first = await gateway.charge(request, 'key-1');
    const again = await gateway.charge(request, 'key-1');
    expect(first.replayed).toBe(false);
    expect(again).toEqual({ charge: first.charge, replayed: true });
  });

  it('makes one charge for concurrent requests with the same key', async () => {
    const gateway = processor();
    const results = await Promise.all(
      Array.from({ length: 10 }, () => gateway.charge(request, 'key-2')),
    );
    expect(new Set(results.map(({ charge }) => charge.id)).size).toBe(1);
    expect(results.filter(({ replayed }) => !replayed)).toHaveLength(1);
  });

  it('refuses a key reused for a different charge with 422', async () => {
    const gateway = processor();
    await gateway.charge(request, 'key-3');
    const reuse = gateway.charge({ ...request, amount: 1 }, 'key-3');
    await expect(reuse).rejects.toBeInstanceOf(HttpError);
    await expect(reuse).rejects.toMatchObject({ status: 422, code: 'idempotency_key_reused' });
  });

  it('makes a new charge for every request without a key', async () => {
    const gateway = processor();
    const a = await gateway.charge(request, undefined);
    const b = await gateway.charge(request, undefined);
    expect(a.charge.id).not.toBe(b.charge.id);
  });

  it('remembers only the most recent keys', async () => {
    const gateway = processor();
    const first = await gateway.charge(request, 'k1');
    for (const key of ['k2', 'k3', 'k4']) await gateway.charge(request, key);
    const afterEviction = await gateway.charge(request, 'k1');
    expect(afterEviction.replayed).toBe(false);
    expect(afterEviction.charge.id).not.toBe(first.charge.id);
    expect(gateway.find(first.charge.id)).toBeUndefined();
  });
});
