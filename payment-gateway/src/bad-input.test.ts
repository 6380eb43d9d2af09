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
  raw,
  refusalCheck,
  sender,
  Teardown,
  type BodyShape,
  type Refusal,
  type Sent,
} from '@cb-lab/testing';
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
const ADMIN = { authorization: `Bearer ${TEST_GATEWAY_TOKEN}` };

const send = sender(() => gateway.url);

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
const expectRefused = refusalCheck(send, state);

const STEP = { durationMs: 1_000, faults: { down: true } };

describe('bad input', () => {
  // A running scenario whose only step injects nothing (a status alone is no fault): a refused
  // call must neither stop it, nor replace it, nor change its faults.
  beforeAll(async () => {
    const started = await send(
      '/admin/scenario',
      json(
        { name: 'baseline', steps: [{ durationMs: 3_600_000, faults: { errorStatus: 500 } }] },
        ADMIN,
      ),
    );
    expect(started.status).toBe(201);
  });

  describe('POST /charges refuses a bad charge and charges nothing', () => {
    const VALID = { amount: 1999, currency: 'EUR', reference: 'bad-input-1' };
    const charge = (changes: Record<string, unknown>, headers: Record<string, string> = {}) =>
      json({ ...VALID, ...changes }, headers);
    const asText = JSON.stringify(VALID);

    it.each<Refusal>([
      ...badJsonBodies(VALID),
      ...badMoneyFields(VALID),
      ['no reference', json({ amount: 1999, currency: 'EUR' }), 400, 'invalid_request'],
      ['the reference as an object', charge({ reference: { id: 'r' } }), 400, 'invalid_request'],
      ['an empty currency', charge({ currency: '' }), 400, 'invalid_request'],
      ['an empty reference', charge({ reference: '' }), 400, 'invalid_request'],
      [
        'a reference over 128 characters',
        charge({ reference: 'r'.repeat(129) }),
        400,
        'invalid_request',
      ],
      ...Object.values(encodings(VALID)),
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
        'an unknown content-encoding',
        raw(asText, { 'content-encoding': 'compress' }),
        415,
        'unsupported_encoding',
      ],
      overLimit(VALID, BODY_LIMIT_BYTES),
      ...badIdempotencyKeys(VALID),
      [
        'an Idempotency-Key with a slash',
        charge({}, { 'Idempotency-Key': 'orders/42' }),
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
      it.each(badAdminTokens(TEST_GATEWAY_TOKEN))('%s', async (_what, auth, status, code) => {
        const headers = { ...sent.headers, ...auth };
        await expectRefused(path, { ...sent, method, headers }, status, code);
      });
    });
  });

  describe.each(['PUT', 'PATCH'])(
    '%s /admin/faults refuses bad faults and changes none',
    (method) => {
      it.each<Refusal>([
        ...notAnObject({ down: true }),
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
        encodings({ down: true }).textPlain,
        overLimit({ down: true }, BODY_LIMIT_BYTES),
      ])('%s', async (_what, sent, status, code) => {
        const headers = { ...sent.headers, ...ADMIN };
        await expectRefused('/admin/faults', { ...sent, method, headers }, status, code);
      });
    },
  );

  describe('POST /admin/scenario refuses a bad scenario and leaves the running one alone', () => {
    it.each<Refusal>([
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
      encodings({ preset: 'outage' }).textPlain,
      overLimit({ preset: 'outage' }, BODY_LIMIT_BYTES),
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
    await expectLive(send);
  });
});

describe('random input', () => {
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
      nearlyValid: fc.record({
        ...plausibleMoney,
        reference: plausible(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 })),
      }),
    },
    faults: {
      keys: ['errorRate', 'errorStatus', 'latencyMs', 'jitterMs', 'timeoutRate', 'down'],
      nearlyValid: faults,
    },
    scenario: {
      keys: ['preset', 'scale', 'name', 'steps', 'repeat'],
      nearlyValid: fc.oneof(
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
  } satisfies Record<string, BodyShape>;

  beforeAll(async () => {
    await send('/admin/scenario', { method: 'DELETE', headers: ADMIN });
  });
  // A generated body may well be valid: whatever it set, the next endpoint starts healthy.
  afterEach(async () => {
    await send('/admin/scenario', { method: 'DELETE', headers: ADMIN });
    await send('/admin/faults', { method: 'DELETE', headers: ADMIN });
    await expectLive(send);
  });

  it.each<[string, string, BodyShape, Record<string, string>]>([
    ['POST', '/charges', ENDPOINTS.charges, {}],
    ['PUT', '/admin/faults', ENDPOINTS.faults, ADMIN],
    ['PATCH', '/admin/faults', ENDPOINTS.faults, ADMIN],
    ['POST', '/admin/scenario', ENDPOINTS.scenario, ADMIN],
  ])('%s %s answers any body with a 2xx or a 4xx', async (method, path, endpoint, auth) => {
    const requests = randomRequest(endpoint, { headers: auth, idempotencyKeyMissingOneIn: 5 });
    await expectOnly2xxOr4xx(requests, (sent) => send(path, { ...sent, method }));
  });

  it('GET /charges/:id answers any id with a 2xx or a 4xx', async () => {
    await expectOnly2xxOr4xx(awkwardId, (id) => send(`/charges/${id}`, { method: 'GET' }));
  });
});
