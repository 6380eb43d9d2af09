import { sampleValue, serviceConfigShape } from '@cb-lab/shared';
import {
  awkwardId,
  badAdminTokens,
  badIdempotencyKeys,
  badJsonBodies,
  badMoneyFields,
  encodings,
  expectLive,
  expectOnly2xxOr4xx,
  json,
  notAnObject,
  overLimit,
  plausible,
  plausibleMoney,
  randomRequest,
  refusalCheck,
  sender,
  startRedis,
  Teardown,
  waitFor,
  type BodyShape,
  type Refusal,
  type TestRedis,
} from '@cb-lab/testing';
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
const ADMIN = { authorization: `Bearer ${TEST_ADMIN_TOKEN}` };
const KEY = { 'Idempotency-Key': 'bad-input-key' };

const send = sender(() => payments.url);

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
    stored: (await db.keys('{payments}:*')).sort(),
    charges:
      sampleValue(await (await fetch(`${gateway.url}/metrics`)).text(), 'gateway_charges_total') ??
      0,
    breaker: { breaker, failures, openedAt, openCount, shared: shared?.state },
  };
};

/** Sends `sent` and expects the error, with nothing changed. */
const expectRefused = refusalCheck(send, state);

describe('bad input', () => {
  describe('POST /payments refuses a bad payment, stores nothing and charges nothing', () => {
    const VALID = { orderId: 'order-bad-input', amount: 1999, currency: 'EUR' };
    const pay = (changes: Record<string, unknown>) => json({ ...VALID, ...changes }, KEY);

    it.each<Refusal>([
      ...badJsonBodies(VALID, KEY),
      ...badMoneyFields(VALID, KEY),
      ['no order id', json({ amount: 1999, currency: 'EUR' }, KEY), 400, 'invalid_request'],
      ['the order id as a number', pay({ orderId: 42 }), 400, 'invalid_request'],
      ['an empty order id', pay({ orderId: '' }), 400, 'invalid_request'],
      [
        'an order id over 128 characters',
        pay({ orderId: 'o'.repeat(129) }),
        400,
        'invalid_request',
      ],
      ...Object.values(encodings(VALID, KEY)),
      overLimit(VALID, BODY_LIMIT_BYTES, KEY),
      ['no Idempotency-Key', json(VALID), 400, 'invalid_request'],
      ...badIdempotencyKeys(VALID),
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
      it.each(badAdminTokens(TEST_ADMIN_TOKEN))('%s', async (_what, auth, status, code) => {
        await expectRefused(path, json({ reason: 'bad input' }, auth), status, code);
      });
    });

    describe('refuses a bad body and leaves the breaker as it was', () => {
      it.each<Refusal>([
        ...notAnObject({ reason: 'x' }, ADMIN),
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
        encodings({}, ADMIN).fakeGzip,
        overLimit({ reason: 'x' }, BODY_LIMIT_BYTES, ADMIN),
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
    await expectLive(send);
  });
});

describe('random input', () => {
  /** Per endpoint: its fields, and bodies made of them that are valid or nearly. */
  const PAYMENT = {
    keys: ['orderId', 'amount', 'currency'],
    nearlyValid: fc.record({
      orderId: plausible(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 })),
      ...plausibleMoney,
    }),
  };
  const ADMIN_BODY = {
    keys: ['reason'],
    nearlyValid: fc.record(
      { reason: plausible(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 50 })) },
      { requiredKeys: [] },
    ),
  };

  // A generated admin body may well be valid: whatever it did, the next endpoint starts closed.
  afterEach(async () => {
    expect((await send('/payments/circuit/reset', json({}, ADMIN))).status).toBe(200);
    await waitFor(async () => (await circuit()).state === 'closed', 'the breaker to close');
    await expectLive(send);
  });

  it.each<[string, BodyShape, Record<string, string>]>([
    ['/payments', PAYMENT, {}],
    ['/payments/circuit/isolate', ADMIN_BODY, ADMIN],
    ['/payments/circuit/reset', ADMIN_BODY, ADMIN],
  ])('POST %s answers any body with a 2xx or a 4xx', async (path, endpoint, auth) => {
    const requests = randomRequest(endpoint, { headers: auth, idempotencyKeyMissingOneIn: 10 });
    await expectOnly2xxOr4xx(requests, (sent) => send(path, sent));
  });

  it('GET /payments/:id answers any id with a 2xx or a 4xx', async () => {
    await expectOnly2xxOr4xx(awkwardId, (id) => send(`/payments/${id}`, { method: 'GET' }));
  });
});
