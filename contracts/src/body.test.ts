import { chargeRequestSchema } from './charges';
import { orderRequestSchema } from './orders';
import { paymentRequestSchema } from './payments';
import { loadRateRequestSchema } from './load';
import { faultsPatchSchema } from './faults';

const messages = (result: { success: boolean; error?: { issues: { message: string }[] } }) =>
  result.error?.issues.map((issue) => issue.message) ?? [];

describe('the unknown-field policy', () => {
  it.each([
    ['POST /orders', orderRequestSchema, { customerId: 'c', amount: 1999, currency: 'EUR' }],
    ['POST /payments', paymentRequestSchema, { orderId: 'o', amount: 1999, currency: 'EUR' }],
    ['POST /charges', chargeRequestSchema, { reference: 'r', amount: 1999, currency: 'EUR' }],
  ] as const)(
    '%s refuses a misspelt field, naming it and the known ones',
    (_route, schema, valid) => {
      expect(schema.safeParse(valid).success).toBe(true);
      const result = schema.safeParse({ ...valid, ammount: 1999 });
      expect(result.success).toBe(false);
      expect(messages(result)).toEqual([
        `unknown field "ammount" (expected only ${Object.keys(schema.shape).join(', ')})`,
      ]);
    },
  );

  it('names every unknown field at once', () => {
    const result = loadRateRequestSchema.safeParse({ ratePerSecond: 5, burst: 10, rate: 3 });
    expect(messages(result)).toEqual([
      'unknown fields "burst", "rate" (expected only ratePerSecond)',
    ]);
  });

  it('is the same on the gateway admin API', () => {
    expect(messages(faultsPatchSchema.safeParse({ errorrate: 1 }))).toEqual([
      'unknown field "errorrate" (expected only errorRate, errorStatus, latencyMs, jitterMs, timeoutRate, down, scope)',
    ]);
  });
});
