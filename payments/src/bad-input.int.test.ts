import { MAX_AMOUNT_MINOR, sampleValue, serviceConfigShape } from '@cb-lab/shared';
import { startRedis, Teardown, waitFor, type TestRedis } from '@cb-lab/testing';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { startGateway, type TestGateway } from '../../payment-gateway/src/app.fixture';
import { startPayments, TEST_ADMIN_TOKEN, type RunningPayments } from './app.fixture';

/**
 * Bad input at every route of payments: each gets a 4xx in the one error
 * shape, stores no payment, charges nothing, leaves the breaker as it was,
 * and payments keeps serving. Then random bodies, which may only ever get a
 * 2xx or a 4xx.
 */

jest.setTimeout(60_000);

const teardown = new Teardown();
let redis: TestRedis;
let db: Redis;
let gateway: TestGateway;
let payments: RunningPayments;

beforeAll(async () => {
  redis = teardown.add(await startRedis(), (r) => r.stop());
  db = redis.connect();
  gateway = await startGateway(teardown, 'gw-bad-input');
  payments = await startPayments(teardown, {
    INSTANCE: 'payments-bad-input',
    REDIS_URL: redis.url,
    GATEWAY_URL: gateway.url,
  });
});
afterAll(() => teardown.run());

const BODY_LIMIT_BYTES = serviceConfigShape.BODY_LIMIT_BYTES.parse(undefined);
const JSON_TYPE = { 'content-type': 'application/json' };
const ADMIN = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
const KEY = { 'Idempotency-Key': 'bad-input-key' };

interface Sent {
  method?: string;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
}

/** Every call gives up after a while, so a request payments never answers fails the test. */
const send = (path: string, { method = 'POST', body, headers = {} }: Sent = {}) =>
  fetch(`${payments.url}${path}`, { method, headers, body, signal: AbortSignal.timeout(5_000) });

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

interface Circuit {
  state: string;
  failures: number;
  openedAt: string | null;
  openCount: number;
  redis: { state?: string } | null;
}

const circuit = async () =>
  (await (await send('/payments/circuit', { method: 'GET' })).json()) as Circuit;

/** Everything bad input must leave alone: stored payments, charges made, the breaker. */
const state = async () => {
  const { state: breaker, failures, openedAt, openCount, redis: shared } = await circuit();
  return {
    stored: (await db.keys('payments:*')).sort(),
    charges:
      sampleValue(await (await fetch(`${gateway.url}/metrics`)).text(), 'gateway_charges_total') ??
      0,
    breaker: { breaker, failures, openedAt, openCount, shared: shared?.state },
  };
};

/** Sends `sent` and expects the error, with nothing changed. */
async function expectRefused(path: string, sent: Sent, status: number, code: string) {
  const before = await state();
  await expectError(await send(path, sent), status, code);
  expect(await state()).toEqual(before);
}

describe('bad input', () => {
  describe('POST /payments refuses a bad payment, stores nothing and charges nothing', () => {
    const VALID = { orderId: 'order-bad-input', amount: 1999, currency: 'EUR' };
    const pay = (changes: Record<string, unknown>, headers: Record<string, string> = KEY) =>
      json({ ...VALID, ...changes }, headers);
    const without = (field: keyof typeof VALID) =>
      json(Object.fromEntries(Object.entries(VALID).filter(([key]) => key !== field)), KEY);
    const asText = JSON.stringify(VALID);

    it.each<[string, Sent, number, string]>([
      ['malformed JSON', raw('{"orderId": "o",', KEY), 400, 'invalid_json'],
      ['a JSON array', json([VALID], KEY), 400, 'invalid_request'],
      ['a JSON string', json('EUR', KEY), 400, 'invalid_json'],
      ['JSON null', json(null, KEY), 400, 'invalid_json'],
      ['a JSON number', json(1999, KEY), 400, 'invalid_json'],
      ['an empty body', raw('', KEY), 400, 'invalid_request'],
      ['an empty object', json({}, KEY), 400, 'invalid_request'],
      [
        'JSON nested 5000 levels deep',
        raw('['.repeat(5_000) + ']'.repeat(5_000), KEY),
        400,
        'invalid_request',
      ],
      ['no order id', without('orderId'), 400, 'invalid_request'],
      ['no amount', without('amount'), 400, 'invalid_request'],
      ['no currency', without('currency'), 400, 'invalid_request'],
      ['the amount as a string', pay({ amount: '1999' }), 400, 'invalid_request'],
      ['the amount as a boolean', pay({ amount: true }), 400, 'invalid_request'],
      ['the amount as null', pay({ amount: null }), 400, 'invalid_request'],
      ['the currency as a number', pay({ currency: 978 }), 400, 'invalid_request'],
      ['the order id as a number', pay({ orderId: 42 }), 400, 'invalid_request'],
      ['a negative amount', pay({ amount: -1999 }), 400, 'invalid_request'],
      ['a zero amount', pay({ amount: 0 }), 400, 'invalid_request'],
      ['a fractional amount', pay({ amount: 19.99 }), 400, 'invalid_request'],
      [
        'an amount above the maximum',
        pay({ amount: MAX_AMOUNT_MINOR + 1 }),
        400,
        'invalid_request',
      ],
      [
        'an amount above MAX_SAFE_INTEGER',
        pay({ amount: Number.MAX_SAFE_INTEGER + 2 }),
        400,
        'invalid_request',
      ],
      [
        'an amount that overflows to Infinity',
        raw('{"orderId": "o", "amount": 1e400, "currency": "EUR"}', KEY),
        400,
        'invalid_request',
      ],
      ['an unknown currency', pay({ currency: 'XYZ' }), 400, 'invalid_request'],
      ['a lowercase currency', pay({ currency: 'eur' }), 400, 'invalid_request'],
      ['an empty order id', pay({ orderId: '' }), 400, 'invalid_request'],
      [
        'an order id over 128 characters',
        pay({ orderId: 'o'.repeat(129) }),
        400,
        'invalid_request',
      ],
      [
        'a text/plain body',
        { body: asText, headers: { ...KEY, 'content-type': 'text/plain' } },
        400,
        'invalid_request',
      ],
      ['no content-type', { body: Buffer.from(asText), headers: KEY }, 400, 'invalid_request'],
      [
        'a charset other than UTF',
        { body: asText, headers: { ...KEY, 'content-type': 'application/json; charset=latin1' } },
        415,
        'unsupported_charset',
      ],
      [
        'a body that claims to be gzip and is not',
        raw(asText, { ...KEY, 'content-encoding': 'gzip' }),
        400,
        'invalid_body',
      ],
      [
        'a body over BODY_LIMIT_BYTES',
        pay({ orderId: 'o'.repeat(BODY_LIMIT_BYTES) }),
        413,
        'payload_too_large',
      ],
      ['no Idempotency-Key', json(VALID), 400, 'invalid_request'],
      ['an empty Idempotency-Key', pay({}, { 'Idempotency-Key': '' }), 400, 'invalid_request'],
      [
        'an Idempotency-Key over 128 characters',
        pay({}, { 'Idempotency-Key': 'k'.repeat(129) }),
        400,
        'invalid_request',
      ],
      [
        'an Idempotency-Key with a space',
        pay({}, { 'Idempotency-Key': 'my key' }),
        400,
        'invalid_request',
      ],
      [
        'an Idempotency-Key with a non-ASCII letter',
        pay({}, { 'Idempotency-Key': 'clé' }),
        400,
        'invalid_request',
      ],
    ])('%s', async (_what, sent, status, code) => {
      await expectRefused('/payments', sent, status, code);
    });
  });

  describe('lookups and routes that do not exist answer in the same shape', () => {
    it.each<[string, string, string, number, string]>([
      ['an unknown payment id', 'GET', '/payments/no-such-payment', 404, 'not_found'],
      [
        'a payment id of 5000 characters',
        'GET',
        `/payments/${'p'.repeat(5_000)}`,
        404,
        'not_found',
      ],
      ['a malformed percent-escape in the id', 'GET', '/payments/%E0%A4%A', 400, 'invalid_path'],
      ['a GET to an admin action', 'GET', '/payments/circuit/isolate', 404, 'not_found'],
      ['a method the route does not have', 'DELETE', '/payments/circuit', 404, 'not_found'],
      ['a path that does not exist', 'GET', '/nothing-here', 404, 'not_found'],
      ['a POST to a probe', 'POST', '/readyz', 404, 'not_found'],
    ])('%s', async (_what, method, path, status, code) => {
      await expectRefused(path, { method }, status, code);
    });
  });

  describe.each(['isolate', 'reset'])('POST /payments/circuit/%s', (action) => {
    const path = `/payments/circuit/${action}`;

    describe('refuses a missing or wrong token', () => {
      const right = TEST_ADMIN_TOKEN;
      it.each<[string, string | null, number, string]>([
        ['no Authorization header', null, 401, 'unauthorized'],
        ['a wrong token', `Bearer ${right.replace(/./g, 'x')}`, 403, 'forbidden'],
        ['a token one character longer', `Bearer ${right}x`, 403, 'forbidden'],
        ['a token one character shorter', `Bearer ${right.slice(0, -1)}`, 403, 'forbidden'],
        [
          'a Basic scheme',
          `Basic ${Buffer.from(`admin:${right}`).toString('base64')}`,
          401,
          'unauthorized',
        ],
        ['the token without a scheme', right, 401, 'unauthorized'],
        ['Bearer with no token', 'Bearer ', 401, 'unauthorized'],
      ])('%s', async (_what, authorization, status, code) => {
        const headers: Record<string, string> = authorization === null ? {} : { authorization };
        await expectRefused(path, json({ reason: 'bad input' }, headers), status, code);
      });
    });

    describe('refuses a bad body and leaves the breaker as it was', () => {
      it.each<[string, Sent, number, string]>([
        ['malformed JSON', raw('{"reason": "x"', ADMIN), 400, 'invalid_json'],
        ['a JSON array', json([{ reason: 'x' }], ADMIN), 400, 'invalid_request'],
        ['a JSON string', json('x', ADMIN), 400, 'invalid_json'],
        ['JSON null', json(null, ADMIN), 400, 'invalid_json'],
        ['an unknown field', json({ reason: 'x', force: true }, ADMIN), 400, 'invalid_request'],
        ['an empty reason', json({ reason: '' }, ADMIN), 400, 'invalid_request'],
        [
          'a reason over 200 characters',
          json({ reason: 'r'.repeat(201) }, ADMIN),
          400,
          'invalid_request',
        ],
        ['the reason as a number', json({ reason: 42 }, ADMIN), 400, 'invalid_request'],
        ['the reason as null', json({ reason: null }, ADMIN), 400, 'invalid_request'],
        [
          'a body that claims to be gzip and is not',
          raw('{}', { ...ADMIN, 'content-encoding': 'gzip' }),
          400,
          'invalid_body',
        ],
        [
          'a body over BODY_LIMIT_BYTES',
          json({ reason: 'r'.repeat(BODY_LIMIT_BYTES) }, ADMIN),
          413,
          'payload_too_large',
        ],
      ])('%s', async (_what, sent, status, code) => {
        await expectRefused(path, sent, status, code);
      });
    });
  });

  it('still takes a payment, and a reset, after all of that', async () => {
    const before = await state();
    expect(before.breaker).toMatchObject({ breaker: 'closed', failures: 0 });
    const paid = await send(
      '/payments',
      json({ orderId: 'order-ok', amount: 1999, currency: 'EUR' }, { 'Idempotency-Key': 'ok-1' }),
    );
    expect(paid.status).toBe(201);
    expect(await paid.json()).toMatchObject({ status: 'approved' });
    const after = await state();
    expect(after.stored).toHaveLength(before.stored.length + 2);
    expect(after.charges).toBe(before.charges + 1);

    const reset = await send('/payments/circuit/reset', json({ reason: 'all good' }, ADMIN));
    expect(reset.status).toBe(200);
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

  /** Per endpoint: its fields, and bodies made of them that are valid or nearly. */
  const PAYMENT = {
    keys: ['orderId', 'amount', 'currency'],
    plausible: fc.record({
      orderId: plausible(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 })),
      amount: plausible(fc.integer({ min: 1, max: MAX_AMOUNT_MINOR })),
      currency: plausible(fc.constantFrom('EUR', 'USD', 'JPY', 'CHF')),
    }),
  };
  const ADMIN_BODY = {
    keys: ['reason'],
    plausible: fc.record(
      { reason: plausible(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 50 })) },
      { requiredKeys: [] },
    ),
  };
  type Endpoint = typeof PAYMENT | typeof ADMIN_BODY;

  /**
   * A raw request body: any JSON value, a JSON text, an object with some of the right keys (and
   * maybe others) holding anything, a valid or nearly valid object, any text or bytes.
   */
  const body = ({ keys, plausible: nearlyValid }: Endpoint) =>
    fc.oneof(
      fc.anything().map((value): string | undefined => JSON.stringify(value)),
      fc.json(),
      fc
        .dictionary(fc.oneof(fc.constantFrom(...keys), fc.string()), fieldValue, { maxKeys: 8 })
        .map((value) => JSON.stringify(value)),
      { weight: 6, arbitrary: nearlyValid.map((value) => JSON.stringify(value)) },
      fc.string({ unit: 'binary' }),
      fc.uint8Array({ maxLength: 64 }),
    );

  const request = (endpoint: Endpoint) =>
    fc.record({
      body: body(endpoint),
      contentType: fc.option(contentType, { nil: undefined, freq: 10 }),
      idempotencyKey: fc.option(
        fc.oneof({ weight: 3, arbitrary: fc.stringMatching(/^[\w.:-]{1,20}$/) }, printable),
        { nil: undefined, freq: 10 },
      ),
    });

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

  // A generated admin body may well be valid: whatever it did, the next endpoint starts closed.
  afterEach(async () => {
    expect((await send('/payments/circuit/reset', json({}, ADMIN))).status).toBe(200);
    await waitFor(async () => (await circuit()).state === 'closed', 'the breaker to close');
    expect((await send('/healthz', { method: 'GET' })).status).toBe(200);
  });

  it.each<[string, Endpoint, Record<string, string>]>([
    ['/payments', PAYMENT, {}],
    ['/payments/circuit/isolate', ADMIN_BODY, ADMIN],
    ['/payments/circuit/reset', ADMIN_BODY, ADMIN],
  ])('POST %s answers any body with a 2xx or a 4xx', async (path, endpoint, auth) => {
    await fc.assert(
      fc.asyncProperty(request(endpoint), async ({ body, contentType, idempotencyKey }) => {
        const headers: Record<string, string> = { ...auth };
        if (contentType !== undefined) headers['content-type'] = contentType;
        if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
        await expectNo5xx(await send(path, { body, headers }));
      }),
      { numRuns: 100 },
    );
  });

  it('GET /payments/:id answers any id with a 2xx or a 4xx', async () => {
    const id = fc.string({ unit: fc.constantFrom(...'%e0A9zZ._~-/é ?#'.split('')), maxLength: 20 });
    await fc.assert(
      fc.asyncProperty(id, async (paymentId) => {
        await expectNo5xx(await send(`/payments/${paymentId}`, { method: 'GET' }));
      }),
      { numRuns: 100 },
    );
  });
});
