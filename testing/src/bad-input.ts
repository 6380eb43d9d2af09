/// <reference types="jest" />
// The reference above lets projects without Jest's types (bench/) still compile this file: they
// import @cb-lab/testing for other things and never call these helpers.
import { MAX_AMOUNT_MINOR } from '@cb-lab/contracts';
import fc from 'fast-check';

/**
 * What bad-input tests send to a service: the parts of a request a client controls. A plain
 * object rather than a `RequestInit`, so that tables can spread it and add headers.
 */
export interface Sent {
  method?: string;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
}

type Send = (path: string, sent: Sent) => Promise<Response>;

/** One row of a refusal table: `[what, sent, status, code]`, `what` being the test's name. */
export type Refusal = [what: string, sent: Sent, status: number, code: string];

/**
 * Sends to the service whose address `baseUrl` gives (read at each call, as a service starts
 * in `beforeAll`). Every call gives up after a while, so a request the service never answers
 * fails the test instead of hanging it.
 */
export function sender(baseUrl: () => string, defaultMethod = 'POST') {
  return (path: string, { method = defaultMethod, body, headers = {} }: Sent = {}) =>
    fetch(`${baseUrl()}${path}`, { method, headers, body, signal: AbortSignal.timeout(5_000) });
}

const JSON_TYPE = { 'content-type': 'application/json' };

/** A JSON body as a well-behaved client sends it, so that only what the test changes is wrong. */
export const json = (value: unknown, headers: Record<string, string> = {}): Sent => ({
  body: JSON.stringify(value),
  headers: { ...JSON_TYPE, ...headers },
});

/** Text sent as it is under a JSON content type, so that it may be malformed. */
export const raw = (body: string, headers: Record<string, string> = {}): Sent => ({
  body,
  headers: { ...JSON_TYPE, ...headers },
});

// Jest types its asymmetric matchers as `any`; as `unknown` they sit in an expected value safely.
const anyString = (): unknown => expect.any(String);
const matching = (pattern: RegExp): unknown => expect.stringMatching(pattern);

/**
 * Expects a refusal in the one error shape every service answers with: a JSON `{error,
 * message}` and nothing else, so clients can rely on `error` and show `message`.
 */
export async function expectError(response: Response, status: number, code: string) {
  const text = await response.text();
  // The text rides along so that a failure shows what was answered.
  expect({ status: response.status, type: response.headers.get('content-type'), text }).toEqual({
    status,
    type: matching(/^application\/json/),
    text: anyString(),
  });
  expect(JSON.parse(text)).toEqual({ error: code, message: matching(/\S/) });
}

/**
 * Makes a service's `expectRefused(path, sent, status, code)`: the answer must be that error,
 * and `state` (what bad input must leave alone) must read the same after as before, since a
 * 4xx that still stored or charged something would be no refusal at all.
 */
export function refusalCheck(send: Send, state: () => Promise<unknown>) {
  return async (path: string, sent: Sent, status: number, code: string) => {
    const before = await state();
    await expectError(await send(path, sent), status, code);
    expect(await state()).toEqual(before);
  };
}

/** Bad input must not take the service down: it still answers its liveness probe. */
export async function expectLive(send: Send) {
  expect((await send('/healthz', { method: 'GET' })).status).toBe(200);
}

/**
 * Bodies that are not a JSON object at all, which every route taking one must refuse before
 * looking at fields. `valid` is a valid body of the route, so that only the framing is wrong.
 */
export function notAnObject(valid: object, headers: Record<string, string> = {}): Refusal[] {
  const text = JSON.stringify(valid);
  return [
    ['malformed JSON', raw(text.slice(0, -1), headers), 400, 'invalid_json'],
    ['a JSON array', json([valid], headers), 400, 'invalid_request'],
    // The valid body encoded twice, as a client that stringifies once too often sends it.
    ['a JSON string', json(text, headers), 400, 'invalid_json'],
    ['JSON null', json(null, headers), 400, 'invalid_json'],
  ];
}

/**
 * `notAnObject` and the rest of what a public endpoint must survive: no body, a bare number, an
 * empty object, and nesting deep enough to blow a recursive parser's stack.
 */
export function badJsonBodies(valid: object, headers: Record<string, string> = {}): Refusal[] {
  return [
    ...notAnObject(valid, headers),
    ['a JSON number', json(1999, headers), 400, 'invalid_json'],
    ['an empty body', raw('', headers), 400, 'invalid_request'],
    ['an empty object', json({}, headers), 400, 'invalid_request'],
    [
      'JSON nested 5000 levels deep',
      raw('['.repeat(5_000) + ']'.repeat(5_000), headers),
      400,
      'invalid_request',
    ],
  ];
}

/**
 * The amount and currency cases of the gateway, payments and orders, which all take money the
 * same way: a missing, mistyped or out-of-range amount or currency must never reach a charge.
 */
export function badMoneyFields(
  valid: { amount: number; currency: string },
  headers: Record<string, string> = {},
): Refusal[] {
  const withField = (changes: object) => json({ ...valid, ...changes }, headers);
  const without = (field: string) =>
    json(Object.fromEntries(Object.entries(valid).filter(([key]) => key !== field)), headers);
  // JSON.stringify would write Infinity as null, so 1e400 is written into the text by hand.
  const infinite = `{"amount": 1e400, ${JSON.stringify({ ...valid, amount: undefined }).slice(1)}`;
  return [
    ['no amount', without('amount'), 400, 'invalid_request'],
    ['no currency', without('currency'), 400, 'invalid_request'],
    // One unknown-field policy everywhere: a typo is refused, never ignored.
    [
      'a misspelt field beside the others (ammount)',
      withField({ ammount: 1999 }),
      400,
      'invalid_request',
    ],
    ['the amount as a string', withField({ amount: '1999' }), 400, 'invalid_request'],
    ['the amount as a boolean', withField({ amount: true }), 400, 'invalid_request'],
    ['the amount as null', withField({ amount: null }), 400, 'invalid_request'],
    ['the currency as a number', withField({ currency: 978 }), 400, 'invalid_request'],
    ['a negative amount', withField({ amount: -1999 }), 400, 'invalid_request'],
    ['a zero amount', withField({ amount: 0 }), 400, 'invalid_request'],
    ['a fractional amount', withField({ amount: 19.99 }), 400, 'invalid_request'],
    [
      'an amount above the maximum',
      withField({ amount: MAX_AMOUNT_MINOR + 1 }),
      400,
      'invalid_request',
    ],
    [
      'an amount above MAX_SAFE_INTEGER',
      withField({ amount: Number.MAX_SAFE_INTEGER + 2 }),
      400,
      'invalid_request',
    ],
    ['an amount that overflows to Infinity', raw(infinite, headers), 400, 'invalid_request'],
    ['an unknown currency', withField({ currency: 'XYZ' }), 400, 'invalid_request'],
    ['a lowercase currency', withField({ currency: 'eur' }), 400, 'invalid_request'],
  ];
}

/**
 * A valid body sent in a way the service must not read as JSON, keyed so that a route can take
 * only the cases it has (`Object.values` for all of them).
 */
export function encodings(valid: object, headers: Record<string, string> = {}) {
  const text = JSON.stringify(valid);
  return {
    textPlain: [
      'a text/plain body',
      { body: text, headers: { ...headers, 'content-type': 'text/plain' } },
      400,
      'invalid_request',
    ],
    // Bytes, as fetch would give a string body a text/plain content type of its own.
    noContentType: [
      'no content-type',
      { body: Buffer.from(text), headers },
      400,
      'invalid_request',
    ],
    otherCharset: [
      'a charset other than UTF',
      { body: text, headers: { ...headers, 'content-type': 'application/json; charset=latin1' } },
      415,
      'unsupported_charset',
    ],
    fakeGzip: [
      'a body that claims to be gzip and is not',
      raw(text, { ...headers, 'content-encoding': 'gzip' }),
      400,
      'invalid_body',
    ],
  } satisfies Record<string, Refusal>;
}

/**
 * A valid body padded past the service's body limit: it must be cut off with a 413 before it
 * is read whole, whatever else is right or wrong with it.
 */
export function overLimit(
  valid: object,
  limitBytes: number,
  headers: Record<string, string> = {},
): Refusal {
  const padded = json({ ...valid, note: 'x'.repeat(limitBytes) }, headers);
  return ['a body over BODY_LIMIT_BYTES', padded, 413, 'payload_too_large'];
}

/**
 * Idempotency-Keys a service must refuse rather than store: they end up in storage keys and
 * logs, so only short, non-empty ASCII without spaces is taken.
 */
export function badIdempotencyKeys(valid: object): Refusal[] {
  const withKey = (key: string) => json(valid, { 'Idempotency-Key': key });
  return [
    ['an empty Idempotency-Key', withKey(''), 400, 'invalid_request'],
    ['an Idempotency-Key over 128 characters', withKey('k'.repeat(129)), 400, 'invalid_request'],
    ['an Idempotency-Key with a space', withKey('my key'), 400, 'invalid_request'],
    ['an Idempotency-Key with a non-ASCII letter', withKey('clé'), 400, 'invalid_request'],
  ];
}

/**
 * Authorization headers an admin route must refuse, as `[what, headers, status, code]`: 401
 * when there is no usable Bearer token, 403 when there is one and it is wrong, whatever its
 * length (so a length check cannot leak the token's).
 */
export function badAdminTokens(token: string): [string, Record<string, string>, number, string][] {
  const basic = Buffer.from(`admin:${token}`).toString('base64');
  return [
    ['no Authorization header', {}, 401, 'unauthorized'],
    ['a wrong token', { authorization: `Bearer ${token.replace(/./g, 'x')}` }, 403, 'forbidden'],
    ['a token one character longer', { authorization: `Bearer ${token}x` }, 403, 'forbidden'],
    [
      'a token one character shorter',
      { authorization: `Bearer ${token.slice(0, -1)}` },
      403,
      'forbidden',
    ],
    ['a Basic scheme', { authorization: `Basic ${basic}` }, 401, 'unauthorized'],
    ['the token without a scheme', { authorization: token }, 401, 'unauthorized'],
    ['Bearer with no token', { authorization: 'Bearer ' }, 401, 'unauthorized'],
  ];
}

/**
 * Values a field may hold, biased towards `edges`: the values a service's validation has to
 * think about, which plain random values would seldom hit.
 */
export const fieldValue = (edges: readonly unknown[]): fc.Arbitrary<unknown> =>
  fc.oneof(fc.anything(), fc.integer(), fc.double(), fc.string(), fc.constantFrom(...edges));

const AMOUNT_EDGES = [0, -1, 1, 1.5, 2 ** 53 + 2, MAX_AMOUNT_MINOR + 1];
/** The edges of the money fields that the gateway, payments and orders all take. */
const moneyValue = fieldValue([...AMOUNT_EDGES, 'EUR', 'eur', '', null, true]);

/**
 * Mostly a valid value, sometimes any: so that whole bodies are often valid, or nearly, and
 * reach the code behind validation rather than all stopping at the first field.
 */
export const plausible = (valid: fc.Arbitrary<unknown>, other = moneyValue) =>
  fc.oneof({ weight: 5, arbitrary: valid }, { weight: 1, arbitrary: other });

/** The amount and currency of a nearly valid body, as the money services all take them. */
export const plausibleMoney = {
  amount: plausible(fc.integer({ min: 1, max: MAX_AMOUNT_MINOR })),
  currency: plausible(fc.constantFrom('EUR', 'USD', 'JPY', 'CHF')),
};

/** What random bodies for one endpoint are made of. */
export interface BodyShape {
  /** The endpoint's fields, so that random objects often have the right keys. */
  keys: readonly string[];
  /** Bodies that are valid or nearly (see `plausible`). */
  nearlyValid: fc.Arbitrary<unknown>;
  /** What a field may hold: `moneyValue` unless given. */
  anyValue?: fc.Arbitrary<unknown>;
}

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
 * A raw request body: any JSON value, a JSON text, an object with some of the right keys (and
 * maybe others) holding anything, a valid or nearly valid object, any text or bytes. So every
 * layer gets its turn: the body reader, the JSON parser, the schema, the handler.
 */
const randomBody = ({ keys, nearlyValid, anyValue = moneyValue }: BodyShape) =>
  fc.oneof(
    fc.anything().map((value): string | undefined => JSON.stringify(value)),
    fc.json(),
    fc
      .dictionary(fc.oneof(fc.constantFrom(...keys), fc.string()), anyValue, { maxKeys: 8 })
      .map((value) => JSON.stringify(value)),
    { weight: 6, arbitrary: nearlyValid.map((value) => JSON.stringify(value)) },
    fc.string({ unit: 'binary' }),
    fc.uint8Array({ maxLength: 64 }),
  );

/**
 * A random request to an endpoint of `shape`: a random body under a mostly-JSON content type,
 * with `headers` (the admin token, say) and, where the endpoint takes one, an Idempotency-Key
 * that is missing one time in `idempotencyKeyMissingOneIn`.
 */
export function randomRequest(
  shape: BodyShape,
  {
    headers = {},
    idempotencyKeyMissingOneIn,
  }: { headers?: Record<string, string>; idempotencyKeyMissingOneIn?: number } = {},
): fc.Arbitrary<Sent> {
  const idempotencyKey =
    idempotencyKeyMissingOneIn === undefined
      ? fc.constant(undefined)
      : fc.option(
          fc.oneof({ weight: 3, arbitrary: fc.stringMatching(/^[\w.:-]{1,20}$/) }, printable),
          { nil: undefined, freq: idempotencyKeyMissingOneIn },
        );
  return fc
    .record({
      body: randomBody(shape),
      type: fc.option(contentType, { nil: undefined, freq: 10 }),
      key: idempotencyKey,
    })
    .map(({ body, type, key }) => {
      const sent = { body, headers: { ...headers } };
      if (type !== undefined) sent.headers['content-type'] = type;
      if (key !== undefined) sent.headers['idempotency-key'] = key;
      return sent;
    });
}

/** Ids made of what breaks paths: percent-escapes, slashes, `?`, `#`, non-ASCII, spaces. */
export const awkwardId = fc.string({
  unit: fc.constantFrom(...'%e0A9zZ._~-/é ?#'.split('')),
  maxLength: 20,
});

/**
 * Sends 100 random `inputs` and expects only a 2xx or a 4xx, every 4xx in the one error shape:
 * a 5xx means the service did not see the bad input coming.
 */
export async function expectOnly2xxOr4xx<T>(
  inputs: fc.Arbitrary<T>,
  answer: (input: T) => Promise<Response>,
) {
  await fc.assert(
    fc.asyncProperty(inputs, async (input) => {
      const response = await answer(input);
      expect(response.status).toBeLessThan(500);
      if (response.status >= 400) {
        expect(await response.json()).toEqual({ error: anyString(), message: anyString() });
      } else await response.arrayBuffer();
    }),
    { numRuns: 100 },
  );
}
