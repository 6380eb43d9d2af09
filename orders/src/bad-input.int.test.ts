import { MAX_AMOUNT_MINOR, sampleValue, serviceConfigShape } from '@cb-lab/shared';
import { startRedis, Teardown, type TestRedis } from '@cb-lab/testing';
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
const JSON_TYPE = { 'content-type': 'application/json' };

interface Sent {
  method?: string;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
}

/** Every call gives up after a while, so a request orders never answers fails the test. */
const send = (path: string, { method = 'POST', body, headers = {} }: Sent = {}) =>
  fetch(`${orders.url}${path}`, { method, headers, body, signal: AbortSignal.timeout(5_000) });

/** A JSON body; `raw` sends the text as it is, so it may be malformed. */
const json = (value: unknown, headers: Record<string, string> = {}): Sent => ({
  body: JSON.stringify(value),
  headers: { ...JSON_TYPE, ...headers },
});
const raw = (body: string, headers: Record<string, string> = {}): Sent => ({
  body,
  headers: { ...JSON_TYPE, ...headers },
});

/** A 4xx with `status`, JSON, and exactly `{error, message}` with `error` = `code`. */
async function expectError(response: Response, status: number, code: string): Promise<void> {
  const text = await response.text();
  // The text rides along so that a failure shows what was answered.
  expect({ status: response.status, type: response.headers.get('content-type'), text }).toEqual({
    status,
    type: expect.stringMatching(/^application\/json/),
    text: expect.any(String),
  });
  expect(JSON.parse(text)).toEqual({ error: code, message: expect.stringMatching(/\S/) });
}

/**
 * Everything bad input must leave alone: stored orders and payments (records and
 * idempotency keys, not the reconciler's lock, which comes and goes), charges made.
 */
const state = async () => ({
  orders:
    (await db.keys('orders:record:*')).length + (await db.keys('orders:idempotency:*')).length,
  payments: (await db.keys('payments:*')).length,
  charges:
    sampleValue(await (await fetch(`${gateway.url}/metrics`)).text(), 'gateway_charges_total') ?? 0,
});

/** Sends `sent` and expects the error, with nothing changed. */
async function expectRefused(path: string, sent: Sent, status: number, code: string) {
  const before = await state();
  await expectError(await send(path, sent), status, code);
  expect(await state()).toEqual(before);
}

describe('bad input', () => {
  describe('POST /orders refuses a bad order, stores nothing and pays nothing', () => {
    const VALID = { customerId: 'c-bad-input', amount: 1999, currency: 'EUR' };
    const order = (changes: Record<string, unknown>, headers: Record<string, string> = {}) =>
      json({ ...VALID, ...changes }, headers);
    const without = (field: keyof typeof VALID) =>
      json(Object.fromEntries(Object.entries(VALID).filter(([key]) => key !== field)));
    const asText = JSON.stringify(VALID);

    it.each<[string, Sent, number, string]>([
      ['malformed JSON', raw('{"customerId": "c",'), 400, 'invalid_json'],
      ['a JSON array', json([VALID]), 400, 'invalid_request'],
      ['a JSON string', json('EUR'), 400, 'invalid_json'],
      ['JSON null', json(null), 400, 'invalid_json'],
      ['a JSON number', json(1999), 400, 'invalid_json'],
      ['an empty body', raw(''), 400, 'invalid_request'],
      ['an empty object', json({}), 400, 'invalid_request'],
      [
        'JSON nested 5000 levels deep',
        raw('['.repeat(5_000) + ']'.repeat(5_000)),
        400,
        'invalid_request',
      ],
      ['no customer id', without('customerId'), 400, 'invalid_request'],
      ['no amount', without('amount'), 400, 'invalid_request'],
      ['no currency', without('currency'), 400, 'invalid_request'],
      ['the amount as a string', order({ amount: '1999' }), 400, 'invalid_request'],
      ['the amount as a boolean', order({ amount: true }), 400, 'invalid_request'],
      ['the amount as null', order({ amount: null }), 400, 'invalid_request'],
      ['the currency as a number', order({ currency: 978 }), 400, 'invalid_request'],
      ['the customer id as an array', order({ customerId: ['c'] }), 400, 'invalid_request'],
      ['a negative amount', order({ amount: -1999 }), 400, 'invalid_request'],
      ['a zero amount', order({ amount: 0 }), 400, 'invalid_request'],
      ['a fractional amount', order({ amount: 19.99 }), 400, 'invalid_request'],
      [
        'an amount above the maximum',
        order({ amount: MAX_AMOUNT_MINOR + 1 }),
        400,
        'invalid_request',
      ],
      [
        'an amount above MAX_SAFE_INTEGER',
        order({ amount: Number.MAX_SAFE_INTEGER + 2 }),
        400,
        'invalid_request',
      ],
      [
        'an amount that overflows to Infinity',
        raw('{"customerId": "c", "amount": 1e400, "currency": "EUR"}'),
        400,
        'invalid_request',
      ],
      ['an unknown currency', order({ currency: 'XYZ' }), 400, 'invalid_request'],
      ['a lowercase currency', order({ currency: 'eur' }), 400, 'invalid_request'],
      ['an empty customer id', order({ customerId: '' }), 400, 'invalid_request'],
      [
        'a customer id over 128 characters',
        order({ customerId: 'c'.repeat(129) }),
        400,
        'invalid_request',
      ],
      [
        'a text/plain body',
        { body: asText, headers: { 'content-type': 'text/plain' } },
        400,
        'invalid_request',
      ],
      ['no content-type', { body: Buffer.from(asText) }, 400, 'invalid_request'],
      [
        'a charset other than UTF',
        { body: asText, headers: { 'content-type': 'application/json; charset=latin1' } },
        415,
        'unsupported_charset',
      ],
      [
        'a body that claims to be gzip and is not',
        raw(asText, { 'content-encoding': 'gzip' }),
        400,
        'invalid_body',
      ],
      [
        'a body over BODY_LIMIT_BYTES',
        order({ customerId: 'c'.repeat(BODY_LIMIT_BYTES) }),
        413,
        'payload_too_large',
      ],
      ['an empty Idempotency-Key', order({}, { 'Idempotency-Key': '' }), 400, 'invalid_request'],
      [
        'an Idempotency-Key over 128 characters',
        order({}, { 'Idempotency-Key': 'k'.repeat(129) }),
        400,
        'invalid_request',
      ],
      [
        'an Idempotency-Key with a space',
        order({}, { 'Idempotency-Key': 'my key' }),
        400,
        'invalid_request',
      ],
      [
        'an Idempotency-Key with a non-ASCII letter',
        order({}, { 'Idempotency-Key': 'clé' }),
        400,
        'invalid_request',
      ],
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
    expect((await send('/healthz', { method: 'GET' })).status).toBe(200);
  });
});

describe('random input', () => {
  /** Values a field may hold, biased towards the edges validation has to think about. */
  const fieldValue = fc.oneof(
    fc.anything(),
    fc.integer(),
    fc.double(),
    fc.string(),
    fc.constantFrom(0, -1, 1, 1.5, 2 ** 53 + 2, MAX_AMOUNT_MINOR + 1, 'EUR', 'eur', '', null, true),
  );
  /** Mostly a valid value, sometimes any: so whole bodies are often valid, or nearly. */
  const plausible = (valid: fc.Arbitrary<unknown>) =>
    fc.oneof({ weight: 5, arbitrary: valid }, { weight: 1, arbitrary: fieldValue });
  const printable = fc.string({
    unit: fc.mapToConstant({ num: 95, build: (v) => String.fromCharCode(0x20 + v) }),
  });
  const contentType = fc.oneof(
    { weight: 6, arbitrary: fc.constant('application/json') },
    fc.constantFrom(
      'application/json; charset=utf-16le',
      'text/plain',
      'application/x-www-form-urlencoded',
    ),
    printable,
  );
  const nearlyValid = fc.record({
    customerId: plausible(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 })),
    amount: plausible(fc.integer({ min: 1, max: MAX_AMOUNT_MINOR })),
    currency: plausible(fc.constantFrom('EUR', 'USD', 'JPY', 'CHF')),
  });

  /**
   * A raw request body: any JSON value, a JSON text, an object with some of the right keys (and
   * maybe others) holding anything, a valid or nearly valid order, any text or bytes.
   */
  const body = fc.oneof(
    fc.anything().map((value): string | undefined => JSON.stringify(value)),
    fc.json(),
    fc
      .dictionary(
        fc.oneof(fc.constantFrom('customerId', 'amount', 'currency'), fc.string()),
        fieldValue,
        { maxKeys: 8 },
      )
      .map((value) => JSON.stringify(value)),
    { weight: 6, arbitrary: nearlyValid.map((value) => JSON.stringify(value)) },
    fc.string({ unit: 'binary' }),
    fc.uint8Array({ maxLength: 64 }),
  );

  /** Only ever a 2xx or a 4xx, and every 4xx in the one error shape. */
  async function expectNo5xx(response: Response): Promise<void> {
    expect(response.status).toBeLessThan(500);
    if (response.status >= 400) {
      expect(await response.json()).toEqual({
        error: expect.any(String),
        message: expect.any(String),
      });
    } else await response.arrayBuffer();
  }

  afterEach(async () => {
    expect((await send('/healthz', { method: 'GET' })).status).toBe(200);
  });

  it('POST /orders answers any body with a 2xx or a 4xx', async () => {
    const request = fc.record({
      body,
      contentType: fc.option(contentType, { nil: undefined, freq: 10 }),
      idempotencyKey: fc.option(
        fc.oneof({ weight: 3, arbitrary: fc.stringMatching(/^[\w.:-]{1,20}$/) }, printable),
        { nil: undefined },
      ),
    });
    await fc.assert(
      fc.asyncProperty(request, async ({ body: sent, contentType: type, idempotencyKey }) => {
        const headers: Record<string, string> = {};
        if (type !== undefined) headers['content-type'] = type;
        if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
        await expectNo5xx(await send('/orders', { body: sent, headers }));
      }),
      { numRuns: 100 },
    );
  });

  it('GET /orders/:id answers any id with a 2xx or a 4xx', async () => {
    const id = fc.string({ unit: fc.constantFrom(...'%e0A9zZ._~-/é ?#'.split('')), maxLength: 20 });
    await fc.assert(
      fc.asyncProperty(id, async (orderId) => {
        await expectNo5xx(await send(`/orders/${orderId}`, { method: 'GET' }));
      }),
      { numRuns: 100 },
    );
  });
});
