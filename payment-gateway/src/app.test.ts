import { loadConfig, type RunningServer } from '@cb-lab/shared';
import { sampleValue, serve, testContext } from '@cb-lab/testing';
import { createApp } from './app';
import { gatewayConfigSchema } from './config';

let server: RunningServer;

beforeAll(async () => {
  const config = loadConfig(gatewayConfigSchema, {
    INSTANCE: 'gw-1',
    CARD_LIMIT_MINOR: '50000',
    ADMIN_TOKEN: 'test-admin-token-0123456789',
  });
  server = await serve(createApp(testContext('payment-gateway', config)));
});
afterAll(() => server.stop());

const charge = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${server.url}/charges`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('POST /charges', () => {
  it('answers approved and declined charges with 201 and the status in the body', async () => {
    const approved = await charge({ amount: 1999, currency: 'EUR', reference: 'r-1' });
    expect(approved.status).toBe(201);
    expect(await approved.json()).toMatchObject({
      status: 'approved',
      amount: 1999,
      currency: 'EUR',
      reference: 'r-1',
    });

    const declined = await charge({ amount: 50_001, currency: 'EUR', reference: 'r-2' });
    expect(declined.status).toBe(201);
    expect(await declined.json()).toMatchObject({
      status: 'declined',
      declineCode: 'insufficient_funds',
    });
  });

  it('honours the Idempotency-Key header', async () => {
    const body = { amount: 500, currency: 'USD', reference: 'r-3' };
    const first = await charge(body, { 'Idempotency-Key': 'idem-r-3' });
    const second = await charge(body, { 'Idempotency-Key': 'idem-r-3' });
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const { id } = (await first.json()) as { id: string };
    expect(await second.json()).toMatchObject({ id });
    expect(await (await fetch(`${server.url}/charges/${id}`)).json()).toMatchObject({
      id,
      status: 'approved',
    });
  });

  it.each([
    [
      { amount: 0, currency: 'EUR', reference: 'x' },
      'amount: expected a positive amount in minor units',
    ],
    [
      { amount: 19.99, currency: 'EUR', reference: 'x' },
      'amount: expected a whole number of minor units',
    ],
    [
      { amount: 100, currency: 'XYZ', reference: 'x' },
      'currency: expected a known ISO 4217 currency code',
    ],
    [{ amount: 100, currency: 'EUR' }, 'reference: expected reference as a string'],
    [[1, 2], 'expected a JSON object with amount, currency and reference'],
  ])('rejects %j with a 400 naming the problem', async (body, message) => {
    const response = await charge(body);
    expect(response.status).toBe(400);
    const answer = (await response.json()) as { error: string; message: string };
    expect(answer.error).toBe('invalid_request');
    expect(answer.message).toContain(message);
  });

  it('rejects a malformed Idempotency-Key', async () => {
    const response = await charge(
      { amount: 1, currency: 'EUR', reference: 'x' },
      { 'Idempotency-Key': 'has spaces' },
    );
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'invalid_request' });
  });

  it('counts charges by outcome', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const series = { service: 'payment-gateway', instance: 'gw-1' };
    expect(sampleValue(text, 'gateway_charges_total', { ...series, outcome: 'approved' })).toBe(2);
    expect(sampleValue(text, 'gateway_charges_total', { ...series, outcome: 'declined' })).toBe(1);
    expect(sampleValue(text, 'gateway_charges_total', { ...series, outcome: 'replayed' })).toBe(1);
    // No fault was injected, so none of the fault outcomes or gauges moved from 0.
    for (const outcome of ['faulted', 'timed_out', 'dropped']) {
      expect(sampleValue(text, 'gateway_charges_total', { ...series, outcome })).toBe(0);
    }
    for (const fault of ['error_rate', 'latency', 'timeout', 'down']) {
      expect(sampleValue(text, 'gateway_fault_active', { ...series, fault })).toBe(0);
    }
  });
});
