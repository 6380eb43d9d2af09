import { sampleValue, serviceConfigShape } from '@cb-lab/shared';
import {
  awkwardId,
  badIdempotencyKeys,
  badJsonBodies,
  badMoneyFields,
  encodings,
  expectLive,
  expectOnly2xxOr4xx,
  json,
  overLimit,
  plausible,
  plausibleMoney,
  randomRequest,
  refusalCheck,
  sender,
  startRedis,
  Teardown,
  type Refusal,
  type TestRedis,
} from '@cb-lab/testing';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { startGateway, type TestGateway } from '../../payment-gateway/src/app.fixture';
import { startPayments } from '../../payments/src/app.fixture';
import { startOrders, type RunningOrders } from './app.fixture';

/**
 * Bad input at every route of orders: each gets a 4xx in the one error
 * shape, stores no order, reaches neither payments nor the gateway, and
 * orders keeps serving. Then random bodies, which may only ever get a 2xx or
 * a 4xx.
 */

jest.setTimeout(60_000);

const teardown = new Teardown();
let redis: TestRedis;
let db: Redis;
let gateway: TestGateway;
let orders: RunningOrders;

beforeAll(async () => {
  redis = teardown.add(await startRedis(), (r) => r.stop());
  db = redis.connect();
  gateway = await startGateway(teardown, 'gw-bad-input');
  const payments = await startPayments(teardown, {
    INSTANCE: 'payments-bad-input',
    REDIS_URL: redis.url,
    GATEWAY_URL: gateway.url,
  });
  orders = await startOrders(teardown, {
    INSTANCE: 'orders-bad-input',
    REDIS_URL: redis.url,
    PAYMENTS_URL: payments.url,
  });
});
afterAll(() => teardown.run());

const BODY_LIMIT_BYTES = serviceConfigShape.BODY_LIMIT_BYTES.parse(undefined);

const send = sender(() => orders.url);

/**
 * Everything bad input must leave alone: stored orders and payments (records and
 * idempotency keys, not the reconciler's lock, which comes and goes), charges made.
 */
const state = async () => ({
  orders:
    (await db.keys('{orders}:record:*')).length + (await db.keys('{orders}:idempotency:*')).length,
  payments: (await db.keys('{payments}:*')).length,
  charges:
    sampleValue(await (await fetch(`${gateway.url}/metrics`)).text(), 'gateway_charges_total') ?? 0,
});

/** Sends `sent` and expects the error, with nothing changed. */
const expectRefused = refusalCheck(send, state);

describe('bad input', () => {
  describe('POST /orders refuses a bad order, stores nothing and pays nothing', () => {
    const VALID = { customerId: 'c-bad-input', amount: 1999, currency: 'EUR' };
    const order = (changes: Record<string, unknown>) => json({ ...VALID, ...changes });

    it.each<Refusal>([
      ...badJsonBodies(VALID),
      ...badMoneyFields(VALID),
      ['no customer id', json({ amount: 1999, currency: 'EUR' }), 400, 'invalid_request'],
      ['the customer id as an array', order({ customerId: ['c'] }), 400, 'invalid_request'],
      ['an empty customer id', order({ customerId: '' }), 400, 'invalid_request'],
      [
        'a customer id over 128 characters',
        order({ customerId: 'c'.repeat(129) }),
        400,
        'invalid_request',
      ],
      ...Object.values(encodings(VALID)),
      overLimit(VALID, BODY_LIMIT_BYTES),
      ...badIdempotencyKeys(VALID),
    ])('%s', async (_what, sent, status, code) => {
      await expectRefused('/orders', sent, status, code);
    });
  });

  describe('lookups and routes that do not exist answer in the same shape', () => {
    it.each<[string, string, string, number, string]>([
      ['an unknown order id', 'GET', '/orders/no-such-order', 404, 'not_found'],
      ['an order id of 5000 characters', 'GET', `/orders/${'o'.repeat(5_000)}`, 404, 'not_found'],
      ['a malformed percent-escape in the id', 'GET', '/orders/%E0%A4%A', 400, 'invalid_path'],
      ['a method the route does not have', 'PUT', '/orders', 404, 'not_found'],
      ['a path that does not exist', 'GET', '/nothing-here', 404, 'not_found'],
      ['a POST to a probe', 'POST', '/healthz', 404, 'not_found'],
    ])('%s', async (_what, method, path, status, code) => {
      await expectRefused(path, { method }, status, code);
    });
  });

  it('still places and pays an order after all of that', async () => {
    const before = await state();
    const placed = await send(
      '/orders',
      json({ customerId: 'c-ok', amount: 1999, currency: 'EUR' }),
    );
    expect(placed.status).toBe(201);
    expect(await placed.json()).toMatchObject({ status: 'paid' });
    const after = await state();
    expect(after.orders).toBe(before.orders + 1);
    expect(after.charges).toBe(before.charges + 1);
    await expectLive(send);
  });
});

describe('random input', () => {
  /** An order's fields, and orders made of them that are valid or nearly. */
  const ORDER = {
    keys: ['customerId', 'amount', 'currency'],
    nearlyValid: fc.record({
      customerId: plausible(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 })),
      ...plausibleMoney,
    }),
  };

  afterEach(async () => {
    await expectLive(send);
  });

  it('POST /orders answers any body with a 2xx or a 4xx', async () => {
    const requests = randomRequest(ORDER, { idempotencyKeyMissingOneIn: 5 });
    await expectOnly2xxOr4xx(requests, (sent) => send('/orders', sent));
  });

  it('GET /orders/:id answers any id with a 2xx or a 4xx', async () => {
    await expectOnly2xxOr4xx(awkwardId, (id) => send(`/orders/${id}`, { method: 'GET' }));
  });
});
