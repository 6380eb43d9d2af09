import { loadConfig, sampleValue, serviceConfigShape, type RunningServer } from '@cb-lab/shared';
import { serve, testContext } from '@cb-lab/testing';
import fc from 'fast-check';
import { createApp, loadGeneratorConfigSchema, type LoadGenerator } from './load-generator';

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
const JSON_TYPE = { 'content-type': 'application/json' };
const ADMIN = { authorization: `Bearer ${TOKEN}` };

interface Sent {
  method?: string;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
}

/** Every call gives up after a while, so a request the generator never answers fails the test. */
const send = (path: string, { method = 'PUT', body, headers = {} }: Sent = {}) =>
  fetch(`${server.url}${path}`, { method, headers, body, signal: AbortSignal.timeout(5_000) });

/** A JSON body with the admin token; `raw` sends the text as it is, so it may be malformed. */
const json = (value: unknown, headers: Record<string, string> = ADMIN): Sent => ({
  body: JSON.stringify(value),
  headers: { ...JSON_TYPE, ...headers },
});
const raw = (body: string): Sent => ({ body, headers: { ...JSON_TYPE, ...ADMIN } });

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
async function expectRefused(path: string, sent: Sent, status: number, code: string) {
  const before = await state();
  await expectError(await send(path, sent), status, code);
  expect(await state()).toEqual(before);
}

describe('bad input', () => {
  describe('PUT /load refuses a missing or wrong token', () => {
    it.each<[string, string | null, number, string]>([
      ['no Authorization header', null, 401, 'unauthorized'],
      ['a wrong token', `Bearer ${TOKEN.replace(/./g, 'x')}`, 403, 'forbidden'],
      ['a token one character longer', `Bearer ${TOKEN}x`, 403, 'forbidden'],
      ['a token one character shorter', `Bearer ${TOKEN.slice(0, -1)}`, 403, 'forbidden'],
      [
        'a Basic scheme',
        `Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`,
        401,
        'unauthorized',
      ],
      ['the token without a scheme', TOKEN, 401, 'unauthorized'],
      ['Bearer with no token', 'Bearer ', 401, 'unauthorized'],
    ])('%s', async (_what, authorization, status, code) => {
      const headers: Record<string, string> = authorization === null ? {} : { authorization };
      await expectRefused('/load', json({ ratePerSecond: 500 }, headers), status, code);
    });
  });

  describe('PUT /load refuses a bad rate and keeps the one it had', () => {
    it.each<[string, Sent, number, string]>([
      ['malformed JSON', raw('{"ratePerSecond": 5'), 400, 'invalid_json'],
      ['a JSON array', json([{ ratePerSecond: 5 }]), 400, 'invalid_request'],
      ['a JSON string', json('5'), 400, 'invalid_json'],
      ['JSON null', json(null), 400, 'invalid_json'],
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
      [
        'a text/plain body',
        { body: '{"ratePerSecond": 5}', headers: { ...ADMIN, 'content-type': 'text/plain' } },
        400,
        'invalid_request',
      ],
      [
        'a charset other than UTF',
        {
          body: '{"ratePerSecond": 5}',
          headers: { ...ADMIN, 'content-type': 'application/json; charset=latin1' },
        },
        415,
        'unsupported_charset',
      ],
      [
        'a body that claims to be gzip and is not',
        {
          body: '{"ratePerSecond": 5}',
          headers: { ...ADMIN, ...JSON_TYPE, 'content-encoding': 'gzip' },
        },
        400,
        'invalid_body',
      ],
      [
        'a body over BODY_LIMIT_BYTES',
        json({ ratePerSecond: 5, note: 'x'.repeat(BODY_LIMIT_BYTES) }),
        413,
        'payload_too_large',
      ],
    ])('%s', async (_what, sent, status, code) => {
      await expectRefused('/load', sent, status, code);
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
    const set = await send('/load', json({ ratePerSecond: 0 }));
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ ratePerSecond: 0, ordersUrl: ORDERS_URL });
    expect((await send('/healthz', { method: 'GET' })).status).toBe(200);
  });

  it('takes a tiny rate as it is, without asking a timer to wait longer than it can', async () => {
    // One order every 1e300 seconds is further away than a Node.js timer can wait: such a
    // timer fires after 1 ms instead, with a warning, so the generator spun and warned ~1000
    // times a second.
    const setTimeoutSpy = jest.spyOn(global, 'setTimeout');
    try {
      const set = await send('/load', json({ ratePerSecond: 1e-300 }));
      expect(set.status).toBe(200);
      expect(await set.json()).toMatchObject({ ratePerSecond: 1e-300 });
      const delays = setTimeoutSpy.mock.calls.map(([, delay]) => delay ?? 0);
      expect(delays.filter((delay) => delay > 2 ** 31 - 1)).toEqual([]);
    } finally {
      setTimeoutSpy.mockRestore();
      expect((await send('/load', json({ ratePerSecond: 0 }))).status).toBe(200);
    }
  });
});

describe('random input', () => {
  /** Values the rate may hold, biased towards the edges validation has to think about. */
  const fieldValue = fc.oneof(
    fc.anything(),
    fc.integer(),
    fc.double(),
    fc.string(),
    fc.constantFrom(0, -1, 1_000, 1_001, 1e-300, 2 ** 53 + 2, '5', null, true),
  );
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
  /**
   * A raw request body: any JSON value, a JSON text, an object with the rate (and maybe other
   * keys) holding anything, a valid rate, any text or bytes.
   */
  const body = fc.oneof(
    fc.anything().map((value): string | undefined => JSON.stringify(value)),
    fc.json(),
    fc
      .dictionary(fc.oneof(fc.constant('ratePerSecond'), fc.string()), fieldValue, { maxKeys: 3 })
      .map((value) => JSON.stringify(value)),
    {
      weight: 3,
      arbitrary: fc
        .double({ min: 0, max: 1_000, noNaN: true })
        .map((ratePerSecond) => JSON.stringify({ ratePerSecond })),
    },
    fc.string({ unit: 'binary' }),
    fc.uint8Array({ maxLength: 64 }),
  );

  // A generated rate may well be valid: the generator is paused again before anything else.
  afterEach(async () => {
    expect((await send('/load', json({ ratePerSecond: 0 }))).status).toBe(200);
    expect((await send('/healthz', { method: 'GET' })).status).toBe(200);
  });

  it('PUT /load answers any body with a 2xx or a 4xx', async () => {
    const request = fc.record({
      body,
      contentType: fc.option(contentType, { nil: undefined, freq: 10 }),
    });
    await fc.assert(
      fc.asyncProperty(request, async ({ body: sent, contentType: type }) => {
        const headers: Record<string, string> = { ...ADMIN };
        if (type !== undefined) headers['content-type'] = type;
        const response = await send('/load', { body: sent, headers });
        expect(response.status).toBeLessThan(500);
        if (response.status >= 400) {
          expect(await response.json()).toEqual({
            error: expect.any(String),
            message: expect.any(String),
          });
        } else await response.arrayBuffer();
      }),
      { numRuns: 100 },
    );
  });
});
