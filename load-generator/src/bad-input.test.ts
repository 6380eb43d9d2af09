import { loadConfig, sampleValue, serviceConfigShape, type RunningServer } from '@cb-lab/shared';
import {
  badAdminTokens,
  encodings,
  expectLive,
  expectOnly2xxOr4xx,
  fieldValue,
  json,
  notAnObject,
  overLimit,
  randomRequest,
  raw,
  refusalCheck,
  sender,
  serve,
  testContext,
  type Refusal,
} from '@cb-lab/testing';
import fc from 'fast-check';
import { createApp } from './app';
import { loadGeneratorConfigSchema } from './config';
import type { LoadGenerator } from './load-generator';

/**
 * Bad input at every route of the load generator: each gets a 4xx in the
 * one error shape, leaves the rate as it was (so no order is sent) and the
 * generator keeps serving. Then random bodies, which may only ever get a 2xx
 * or a 4xx.
 */

const TOKEN = 'load-admin-token-0123456789';
/** Nothing listens there: if an order ever went out, it would be counted as an error. */
const ORDERS_URL = 'http://127.0.0.1:9';

let server: RunningServer;
let generator: LoadGenerator;

beforeAll(async () => {
  const config = loadConfig(loadGeneratorConfigSchema, {
    INSTANCE: 'load-bad-input',
    ORDERS_URL,
    LOAD_RATE: '0',
    ADMIN_TOKEN: TOKEN,
  });
  const built = createApp(testContext('load-generator', config));
  generator = built.generator;
  server = await serve(built.app);
});
afterAll(async () => {
  generator.stop();
  await server.stop();
});

const BODY_LIMIT_BYTES = serviceConfigShape.BODY_LIMIT_BYTES.parse(undefined);
const ADMIN = { authorization: `Bearer ${TOKEN}` };

const send = sender(() => server.url, 'PUT');

/** Everything bad input must leave alone: the rate, and so the orders sent (none). */
const state = async () => ({
  load: await (await send('/load', { method: 'GET' })).json(),
  orders:
    sampleValue(
      await (await send('/metrics', { method: 'GET' })).text(),
      'load_generator_orders_total',
    ) ?? 0,
});

/** Sends `sent` and expects the error, with nothing changed. */
const expectRefused = refusalCheck(send, state);

describe('bad input', () => {
  describe('PUT /load refuses a missing or wrong token', () => {
    it.each(badAdminTokens(TOKEN))('%s', async (_what, auth, status, code) => {
      await expectRefused('/load', json({ ratePerSecond: 500 }, auth), status, code);
    });
  });

  describe('PUT /load refuses a bad rate and keeps the one it had', () => {
    const { textPlain, otherCharset, fakeGzip } = encodings({ ratePerSecond: 5 });

    it.each<Refusal>([
      ...notAnObject({ ratePerSecond: 5 }),
      ['a JSON number', json(5), 400, 'invalid_json'],
      ['an empty body', raw(''), 400, 'invalid_request'],
      ['no rate', json({}), 400, 'invalid_request'],
      [
        'an unknown field beside the rate',
        json({ ratePerSecond: 5, burst: 10 }),
        400,
        'invalid_request',
      ],
      ['a negative rate', json({ ratePerSecond: -1 }), 400, 'invalid_request'],
      ['a rate above 1000', json({ ratePerSecond: 1_001 }), 400, 'invalid_request'],
      [
        'a rate above MAX_SAFE_INTEGER',
        json({ ratePerSecond: Number.MAX_SAFE_INTEGER + 2 }),
        400,
        'invalid_request',
      ],
      [
        'a rate that overflows to Infinity',
        raw('{"ratePerSecond": 1e400}'),
        400,
        'invalid_request',
      ],
      ['the rate as a string', json({ ratePerSecond: '5' }), 400, 'invalid_request'],
      ['the rate as null', json({ ratePerSecond: null }), 400, 'invalid_request'],
      ['the rate as a boolean', json({ ratePerSecond: true }), 400, 'invalid_request'],
      textPlain,
      otherCharset,
      fakeGzip,
      overLimit({ ratePerSecond: 5 }, BODY_LIMIT_BYTES),
    ])('%s', async (_what, sent, status, code) => {
      const headers = { ...sent.headers, ...ADMIN };
      await expectRefused('/load', { ...sent, headers }, status, code);
    });
  });

  describe('routes that do not exist answer in the same shape', () => {
    it.each<[string, string, string, number, string]>([
      ['a method the route does not have', 'POST', '/load', 404, 'not_found'],
      ['a path that does not exist', 'GET', '/load/now', 404, 'not_found'],
      ['a POST to a probe', 'POST', '/healthz', 404, 'not_found'],
    ])('%s', async (_what, method, path, status, code) => {
      await expectRefused(path, { method }, status, code);
    });
  });

  it('still reads and sets the rate after all of that', async () => {
    expect(await state()).toEqual({ load: { ratePerSecond: 0, ordersUrl: ORDERS_URL }, orders: 0 });
    const set = await send('/load', json({ ratePerSecond: 0 }, ADMIN));
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ ratePerSecond: 0, ordersUrl: ORDERS_URL });
    await expectLive(send);
  });

  it('takes a tiny rate as it is, without asking a timer to wait longer than it can', async () => {
    // One order every 1e300 seconds is further away than a Node.js timer can wait: such a
    // timer fires after 1 ms instead, with a warning, so the generator spun and warned ~1000
    // times a second.
    const setTimeoutSpy = jest.spyOn(global, 'setTimeout');
    try {
      const set = await send('/load', json({ ratePerSecond: 1e-300 }, ADMIN));
      expect(set.status).toBe(200);
      expect(await set.json()).toMatchObject({ ratePerSecond: 1e-300 });
      const delays = setTimeoutSpy.mock.calls.map(([, delay]) => delay ?? 0);
      expect(delays.filter((delay) => delay > 2 ** 31 - 1)).toEqual([]);
    } finally {
      setTimeoutSpy.mockRestore();
      expect((await send('/load', json({ ratePerSecond: 0 }, ADMIN))).status).toBe(200);
    }
  });
});

describe('random input', () => {
  /** The rate's field, and valid rates; its values biased towards the edges of a rate. */
  const RATE = {
    keys: ['ratePerSecond'],
    nearlyValid: fc.record({ ratePerSecond: fc.double({ min: 0, max: 1_000, noNaN: true }) }),
    anyValue: fieldValue([0, -1, 1_000, 1_001, 1e-300, 2 ** 53 + 2, '5', null, true]),
  };

  // A generated rate may well be valid: the generator is paused again before anything else.
  afterEach(async () => {
    expect((await send('/load', json({ ratePerSecond: 0 }, ADMIN))).status).toBe(200);
    await expectLive(send);
  });

  it('PUT /load answers any body with a 2xx or a 4xx', async () => {
    const requests = randomRequest(RATE, { headers: ADMIN });
    await expectOnly2xxOr4xx(requests, (sent) => send('/load', sent));
  });
});
