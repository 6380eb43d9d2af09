import { MAX_AMOUNT_MINOR, sampleValue, serviceConfigShape } from '@cb-lab/shared';
import { Teardown } from '@cb-lab/testing';
import fc from 'fast-check';
import { startGateway, TEST_GATEWAY_TOKEN, type TestGateway } from './app.fixture';

/**
 * Bad input at every route of the gateway: each gets a 4xx in the one error
 * shape, changes nothing (faults, the running scenario, charges made) and
 * leaves the gateway serving. Then random bodies, which may only ever get a
 * 2xx or a 4xx.
 */

const teardown = new Teardown();
let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startGateway(teardown, 'gw-bad-input');
});
afterAll(async () => {
  await send('/admin/scenario', { method: 'DELETE', headers: ADMIN });
  await teardown.run();
});

const BODY_LIMIT_BYTES = serviceConfigShape.BODY_LIMIT_BYTES.parse(undefined);
const JSON_TYPE = { 'content-type': 'application/json' };
const ADMIN = { authorization: `Bearer ${TEST_GATEWAY_TOKEN}` };

interface Sent {
  method?: string;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
}

/** Every call gives up after a while, so a request the gateway never answers fails the test. */
const send = (path: string, { method = 'POST', body, headers = {} }: Sent = {}) =>
  fetch(`${gateway.url}${path}`, { method, headers, body, signal: AbortSignal.timeout(5_000) });

/** A JSON body; `raw` sends the text as it is, so it may be malformed. */
const json = (value: unknown, headers: Record<string, string> = {}): Sent => ({
  body: JSON.stringify(value),
  headers: { ...JSON_TYPE, ...headers },
});
const raw = (body: string): Sent => ({ body, headers: JSON_TYPE });

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

const adminGet = async (path: string): Promise<unknown> =>
  (await send(path, { method: 'GET', headers: ADMIN })).json();

/** Everything bad input must leave alone: the faults, the scenario, the charges made. */
const state = async () => ({
  faults: await adminGet('/admin/faults'),
  scenario: await adminGet('/admin/scenario'),
  charges:
    sampleValue(
      await (await send('/metrics', { method: 'GET' })).text(),
      'gateway_charges_total',
    ) ?? 0,
});

/** Sends `sent` and expects the error, with nothing changed. */
async function expectRefused(path: string, sent: Sent, status: number, code: string) {
  const before = await state();
  await expectError(await send(path, sent), status, code);
  expect(await state()).toEqual(before);
}

const STEP = { durationMs: 1_000, faults: { down: true } };

describe('bad input', () => {
  // A running scenario whose only step injects nothing (a status alone is no fault): a refused
  // call must neither stop it, nor replace it, nor change its faults.
  beforeAll(async () => {
    const started = await send('/admin/scenario', {
      ...json({
        name: 'baseline',
        steps: [{ durationMs: 3_600_000, faults: { errorStatus: 500 } }],
      }),
      headers: { ...JSON_TYPE, ...ADMIN },
    });
    expect(started.status).toBe(201);
  });

  describe('POST /charges refuses a bad charge and charges nothing', () => {
    const VALID = { amount: 1999, currency: 'EUR', reference: 'bad-input-1' };
    const charge = (changes: Record<string, unknown>, headers: Record<string, string> = {}) =>
      json({ ...VALID, ...changes }, headers);
    const without = (field: keyof typeof VALID) =>
      json(Object.fromEntries(Object.entries(VALID).filter(([key]) => key !== field)));
    const asText = JSON.stringify(VALID);

    it.each<[string, Sent, number, string]>([
      ['malformed JSON', raw('{"amount": 1999,'), 400, 'invalid_json'],
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
      ['no amount', without('amount'), 400, 'invalid_request'],
      ['no currency', without('currency'), 400, 'invalid_request'],
      ['no reference', without('reference'), 400, 'invalid_request'],
      ['the amount as a string', charge({ amount: '1999' }), 400, 'invalid_request'],
      ['the amount as a boolean', charge({ amount: true }), 400, 'invalid_request'],
      ['the amount as null', charge({ amount: null }), 400, 'invalid_request'],
      ['the currency as a number', charge({ currency: 978 }), 400, 'invalid_request'],
      ['the reference as an object', charge({ reference: { id: 'r' } }), 400, 'invalid_request'],
      ['a negative amount', charge({ amount: -1999 }), 400, 'invalid_request'],
      ['a zero amount', charge({ amount: 0 }), 400, 'invalid_request'],
      ['a fractional amount', charge({ amount: 19.99 }), 400, 'invalid_request'],
      [
        'an amount above the maximum',
        charge({ amount: MAX_AMOUNT_MINOR + 1 }),
        400,
        'invalid_request',
      ],
      [
        'an amount above MAX_SAFE_INTEGER',
        charge({ amount: Number.MAX_SAFE_INTEGER + 2 }),
        400,
        'invalid_request',
      ],
      [
        'an amount that overflows to Infinity',
        raw('{"amount": 1e400, "currency": "EUR", "reference": "r"}'),
        400,
        'invalid_request',
      ],
      ['an unknown currency', charge({ currency: 'XYZ' }), 400, 'invalid_request'],
      ['a lowercase currency', charge({ currency: 'eur' }), 400, 'invalid_request'],
      ['an empty currency', charge({ currency: '' }), 400, 'invalid_request'],
      ['an empty reference', charge({ reference: '' }), 400, 'invalid_request'],
      [
        'a reference over 128 characters',
        charge({ reference: 'r'.repeat(129) }),
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
        'a form-encoded body',
        {
          body: 'amount=1999&currency=EUR&reference=r',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        },
        400,
        'invalid_request',
      ],
      [
        'a charset other than UTF',
        { body: asText, headers: { 'content-type': 'application/json; charset=latin1' } },
        415,
        'unsupported_charset',
      ],
      [
        'an unknown content-encoding',
        { body: asText, headers: { ...JSON_TYPE, 'content-encoding': 'compress' } },
        415,
        'unsupported_encoding',
      ],
      [
        'a body that claims to be gzip and is not',
        { body: asText, headers: { ...JSON_TYPE, 'content-encoding': 'gzip' } },
        400,
        'invalid_body',
      ],
      [
        'a body over BODY_LIMIT_BYTES',
        charge({ reference: 'r'.repeat(BODY_LIMIT_BYTES) }),
        413,
        'payload_too_large',
      ],
      ['an empty Idempotency-Key', charge({}, { 'Idempotency-Key': '' }), 400, 'invalid_request'],
      [
        'an Idempotency-Key over 128 characters',
        charge({}, { 'Idempotency-Key': 'k'.repeat(129) }),
        400,
        'invalid_request',
      ],
      [
        'an Idempotency-Key with a space',
        charge({}, { 'Idempotency-Key': 'my key' }),
        400,
        'invalid_request',
      ],
      [
        'an Idempotency-Key with a slash',
        charge({}, { 'Idempotency-Key': 'orders/42' }),
        400,
        'invalid_request',
      ],
      [
        'an Idempotency-Key with a non-ASCII letter',
        charge({}, { 'Idempotency-Key': 'clé' }),
        400,
        'invalid_request',
      ],
    ])('%s', async (_what, sent, status, code) => {
      await expectRefused('/charges', sent, status, code);
    });
  });

  describe('lookups and routes that do not exist answer in the same shape', () => {
    it.each<[string, string, string, number, string]>([
      ['an unknown charge id', 'GET', '/charges/ch_does-not-exist', 404, 'not_found'],
      ['a charge id of 5000 characters', 'GET', `/charges/${'c'.repeat(5_000)}`, 404, 'not_found'],
      ['a malformed percent-escape in the id', 'GET', '/charges/%E0%A4%A', 400, 'invalid_path'],
      ['a method the route does not have', 'PUT', '/charges', 404, 'not_found'],
      ['a path that does not exist', 'GET', '/nothing-here', 404, 'not_found'],
      ['a POST to a probe', 'POST', '/healthz', 404, 'not_found'],
    ])('%s', async (_what, method, path, status, code) => {
      await expectRefused(path, { method }, status, code);
    });
  });

  describe('admin routes refuse a missing or wrong token', () => {
    const right = TEST_GATEWAY_TOKEN;
    const wrong = right.replace(/./g, 'x');
    describe.each<[string, string, Sent]>([
      ['GET', '/admin/faults', {}],
      ['PUT', '/admin/faults', json({ down: true })],
      ['PATCH', '/admin/faults', json({ down: true })],
      ['DELETE', '/admin/faults', {}],
      ['POST', '/admin/scenario', json({ preset: 'outage' })],
      ['GET', '/admin/scenario', {}],
      ['DELETE', '/admin/scenario', {}],
      ['GET', '/admin/scenarios', {}],
    ])('%s %s', (method, path, sent) => {
      it.each<[string, string | null, number, string]>([
        ['no Authorization header', null, 401, 'unauthorized'],
        ['a wrong token', `Bearer ${wrong}`, 403, 'forbidden'],
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
        const headers = { ...sent.headers, ...(authorization === null ? {} : { authorization }) };
        await expectRefused(path, { ...sent, method, headers }, status, code);
      });
    });
  });

  describe.each(['PUT', 'PATCH'])(
    '%s /admin/faults refuses bad faults and changes none',
    (method) => {
      it.each<[string, Sent, number, string]>([
        ['malformed JSON', raw('{"down": true'), 400, 'invalid_json'],
        ['a JSON array', json([{ down: true }]), 400, 'invalid_request'],
        ['a JSON string', json('down'), 400, 'invalid_json'],
        ['JSON null', json(null), 400, 'invalid_json'],
        ['an unknown fault mode', json({ mode: 'explode' }), 400, 'invalid_request'],
        [
          'a misspelt field beside a valid one',
          json({ down: true, errorrate: 1 }),
          400,
          'invalid_request',
        ],
        ['an error rate above 1', json({ errorRate: 1.5 }), 400, 'invalid_request'],
        ['a negative error rate', json({ errorRate: -0.1 }), 400, 'invalid_request'],
        ['a timeout rate above 1', json({ timeoutRate: 2 }), 400, 'invalid_request'],
        ['a rate that overflows to Infinity', raw('{"errorRate": 1e400}'), 400, 'invalid_request'],
        [
          'an error status that is not 429 or 5xx',
          json({ errorStatus: 200 }),
          400,
          'invalid_request',
        ],
        ['an error status of 600', json({ errorStatus: 600 }), 400, 'invalid_request'],
        ['a fractional error status', json({ errorStatus: 503.5 }), 400, 'invalid_request'],
        ['a negative latency', json({ latencyMs: -1 }), 400, 'invalid_request'],
        ['a latency above a minute', json({ latencyMs: 60_001 }), 400, 'invalid_request'],
        [
          'a latency above MAX_SAFE_INTEGER',
          json({ latencyMs: Number.MAX_SAFE_INTEGER + 2 }),
          400,
          'invalid_request',
        ],
        ['a fractional jitter', json({ jitterMs: 0.5 }), 400, 'invalid_request'],
        ['a rate as a string', json({ errorRate: '0.5' }), 400, 'invalid_request'],
        ['down as a string', json({ down: 'true' }), 400, 'invalid_request'],
        ['down as null', json({ down: null }), 400, 'invalid_request'],
        [
          'a text/plain body',
          { body: '{"down": true}', headers: { 'content-type': 'text/plain' } },
          400,
          'invalid_request',
        ],
        [
          'a body over BODY_LIMIT_BYTES',
          json({ down: true, note: 'x'.repeat(BODY_LIMIT_BYTES) }),
          413,
          'payload_too_large',
        ],
      ])('%s', async (_what, sent, status, code) => {
        const headers = { ...sent.headers, ...ADMIN };
        await expectRefused('/admin/faults', { ...sent, method, headers }, status, code);
      });
    },
  );

  describe('POST /admin/scenario refuses a bad scenario and leaves the running one alone', () => {
    it.each<[string, Sent, number, string]>([
      ['malformed JSON', raw('{"preset": "outage"'), 400, 'invalid_json'],
      ['a JSON array', json([{ preset: 'outage' }]), 400, 'invalid_request'],
      ['a JSON string', json('outage'), 400, 'invalid_json'],
      ['an empty object', json({}), 400, 'invalid_request'],
      ['an unknown preset', json({ preset: 'armageddon' }), 400, 'invalid_request'],
      ['a preset in another case', json({ preset: 'Outage' }), 400, 'invalid_request'],
      ['the preset as a number', json({ preset: 1 }), 400, 'invalid_request'],
      ['a zero scale', json({ preset: 'outage', scale: 0 }), 400, 'invalid_request'],
      ['a scale above 100', json({ preset: 'outage', scale: 101 }), 400, 'invalid_request'],
      ['a scale as a string', json({ preset: 'outage', scale: '1' }), 400, 'invalid_request'],
      ['an unknown field', json({ preset: 'outage', speed: 2 }), 400, 'invalid_request'],
      [
        'both a preset and steps',
        json({ preset: 'outage', steps: [STEP] }),
        400,
        'invalid_request',
      ],
      ['no steps', json({ steps: [] }), 400, 'invalid_request'],
      ['steps as an object', json({ steps: STEP }), 400, 'invalid_request'],
      [
        'a step shorter than 100 ms',
        json({ steps: [{ ...STEP, durationMs: 99 }] }),
        400,
        'invalid_request',
      ],
      [
        'a step longer than an hour',
        json({ steps: [{ ...STEP, durationMs: 3_600_001 }] }),
        400,
        'invalid_request',
      ],
      [
        'a step duration above MAX_SAFE_INTEGER',
        json({ steps: [{ ...STEP, durationMs: Number.MAX_SAFE_INTEGER + 2 }] }),
        400,
        'invalid_request',
      ],
      [
        'a step with an out-of-range fault',
        json({ steps: [{ ...STEP, faults: { errorRate: 2 } }] }),
        400,
        'invalid_request',
      ],
      [
        'a step with an unknown fault mode',
        json({ steps: [{ ...STEP, faults: { explode: true } }] }),
        400,
        'invalid_request',
      ],
      [
        'a step with an unknown field',
        json({ steps: [{ ...STEP, when: 'now' }] }),
        400,
        'invalid_request',
      ],
      [
        'a step name that cannot be a metric label',
        json({ steps: [{ ...STEP, name: 'two words' }] }),
        400,
        'invalid_request',
      ],
      ['a repeat of 0', json({ steps: [STEP], repeat: 0 }), 400, 'invalid_request'],
      ['a repeat above 100', json({ steps: [STEP], repeat: 101 }), 400, 'invalid_request'],
      ['a fractional repeat', json({ steps: [STEP], repeat: 1.5 }), 400, 'invalid_request'],
      [
        'more than 100 steps',
        json({ steps: Array.from({ length: 101 }, () => STEP) }),
        400,
        'invalid_request',
      ],
      [
        'a text/plain body',
        { body: '{"preset": "outage"}', headers: { 'content-type': 'text/plain' } },
        400,
        'invalid_request',
      ],
      [
        'a body over BODY_LIMIT_BYTES',
        json({ preset: 'outage', name: 'x'.repeat(BODY_LIMIT_BYTES) }),
        413,
        'payload_too_large',
      ],
    ])('%s', async (_what, sent, status, code) => {
      const headers = { ...sent.headers, ...ADMIN };
      await expectRefused('/admin/scenario', { ...sent, headers }, status, code);
    });
  });

  it('still charges, and its admin API still answers, after all of that', async () => {
    const before = await state();
    const charged = await send(
      '/charges',
      json({ amount: 1999, currency: 'EUR', reference: 'r-ok' }),
    );
    expect(charged.status).toBe(201);
    expect(await charged.json()).toMatchObject({ status: 'approved' });
    expect(await state()).toEqual({ ...before, charges: before.charges + 1 });
    expect(before.scenario).toMatchObject({ running: true, name: 'baseline' });
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

  const rate = plausible(fc.double({ min: 0, max: 1, noNaN: true }));
  const delay = plausible(fc.integer({ min: 0, max: 60_000 }));
  const faults = fc.record(
    {
      errorRate: rate,
      errorStatus: plausible(fc.constantFrom(429, 500, 502, 503, 504)),
      latencyMs: delay,
      jitterMs: delay,
      timeoutRate: rate,
      down: plausible(fc.boolean()),
    },
    { requiredKeys: [] },
  );
  const scenarioName = plausible(fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/));
  /** Per endpoint: its fields, and bodies made of them that are valid or nearly. */
  const ENDPOINTS = {
    charges: {
      keys: ['amount', 'currency', 'reference'],
      plausible: fc.record({
        amount: plausible(fc.integer({ min: 1, max: MAX_AMOUNT_MINOR })),
        currency: plausible(fc.constantFrom('EUR', 'USD', 'JPY', 'CHF')),
        reference: plausible(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 })),
      }),
    },
    faults: {
      keys: ['errorRate', 'errorStatus', 'latencyMs', 'jitterMs', 'timeoutRate', 'down'],
      plausible: faults,
    },
    scenario: {
      keys: ['preset', 'scale', 'name', 'steps', 'repeat'],
      plausible: fc.oneof(
        fc.record(
          {
            preset: plausible(fc.constantFrom('outage', 'brownout', 'flapping', 'timeouts')),
            scale: plausible(fc.double({ min: 0.001, max: 100, noNaN: true })),
          },
          { requiredKeys: ['preset'] },
        ),
        fc.record(
          {
            name: scenarioName,
            steps: plausible(
              fc.array(
                fc.record(
                  {
                    name: scenarioName,
                    durationMs: plausible(fc.integer({ min: 100, max: 3_600_000 })),
                    faults: plausible(faults),
                  },
                  { requiredKeys: ['durationMs', 'faults'] },
                ),
                { minLength: 1, maxLength: 5 },
              ),
            ),
            repeat: plausible(fc.integer({ min: 1, max: 100 })),
          },
          { requiredKeys: ['steps'] },
        ),
      ),
    },
  } satisfies Record<string, { keys: string[]; plausible: fc.Arbitrary<unknown> }>;
  type Endpoint = (typeof ENDPOINTS)[keyof typeof ENDPOINTS];

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
        { nil: undefined },
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

  beforeAll(async () => {
    await send('/admin/scenario', { method: 'DELETE', headers: ADMIN });
  });
  // A generated body may well be valid: whatever it set, the next endpoint starts healthy.
  afterEach(async () => {
    await send('/admin/scenario', { method: 'DELETE', headers: ADMIN });
    await send('/admin/faults', { method: 'DELETE', headers: ADMIN });
    expect((await send('/healthz', { method: 'GET' })).status).toBe(200);
  });

  it.each<[string, string, Endpoint, Record<string, string>]>([
    ['POST', '/charges', ENDPOINTS.charges, {}],
    ['PUT', '/admin/faults', ENDPOINTS.faults, ADMIN],
    ['PATCH', '/admin/faults', ENDPOINTS.faults, ADMIN],
    ['POST', '/admin/scenario', ENDPOINTS.scenario, ADMIN],
  ])('%s %s answers any body with a 2xx or a 4xx', async (method, path, endpoint, auth) => {
    await fc.assert(
      fc.asyncProperty(request(endpoint), async ({ body, contentType, idempotencyKey }) => {
        const headers: Record<string, string> = { ...auth };
        if (contentType !== undefined) headers['content-type'] = contentType;
        if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
        await expectNo5xx(await send(path, { method, body, headers }));
      }),
      { numRuns: 100 },
    );
  });

  it('GET /charges/:id answers any id with a 2xx or a 4xx', async () => {
    const id = fc.string({ unit: fc.constantFrom(...'%e0A9zZ._~-/é ?#'.split('')), maxLength: 20 });
    await fc.assert(
      fc.asyncProperty(id, async (chargeId) => {
        await expectNo5xx(await send(`/charges/${chargeId}`, { method: 'GET' }));
      }),
      { numRuns: 100 },
    );
  });
});
