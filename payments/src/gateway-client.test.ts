import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { captureLogger } from '@cb-lab/testing';
import { GatewayClient } from './gateway-client';
import { GatewayRejectedError, GatewayUnavailableError } from './gateway-failures';

const request = { amount: 100, currency: 'EUR', reference: 'pay-1' };

/** A real HTTP server that answers with `status`, or never answers when `status` is undefined. */
async function fakeGateway(
  status?: number,
): Promise<{ url: string; server: Server; keys: string[]; callers: string[] }> {
  const keys: string[] = [];
  const callers: string[] = [];
  const server = createServer((req, res) => {
    keys.push(String(req.headers['idempotency-key']));
    callers.push(String(req.headers['caller-replica']));
    if (status === undefined) return;
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end('{"id":"ch_1","status":"approved"}');
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    server,
    keys,
    callers,
  };
}

const closing: Server[] = [];
afterEach(() => {
  for (const server of closing.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function clientFor(status?: number, timeoutMs = 1_000) {
  const gateway = await fakeGateway(status);
  closing.push(gateway.server);
  return {
    client: new GatewayClient({
      baseURL: gateway.url,
      timeoutMs,
      logger: captureLogger().logger,
      caller: 'payments-7',
    }),
    gateway,
  };
}

describe('GatewayClient', () => {
  it('sends the payment id as the Idempotency-Key, and names its replica', async () => {
    const { client, gateway } = await clientFor(201);
    await expect(client.charge(request)).resolves.toMatchObject({ status: 'approved' });
    expect(gateway.keys).toEqual(['pay-1']);
    expect(gateway.callers).toEqual(['payments-7']);
  });

  it.each([500, 503, 429])('turns HTTP %i into GatewayUnavailableError', async (status) => {
    const { client } = await clientFor(status);
    await expect(client.charge(request)).rejects.toMatchObject({
      name: 'GatewayUnavailableError',
      kind: 'server_error',
    });
  });

  it('turns other 4xx into GatewayRejectedError', async () => {
    const { client } = await clientFor(400);
    await expect(client.charge(request)).rejects.toBeInstanceOf(GatewayRejectedError);
  });

  it('reports a gateway that never answers as a timeout', async () => {
    const { client } = await clientFor(undefined, 100);
    await expect(client.charge(request)).rejects.toMatchObject({
      name: 'GatewayUnavailableError',
      kind: 'timeout',
    });
  });

  it('reports a call cut by the caller’s signal as a timeout', async () => {
    const { client } = await clientFor(undefined);
    await expect(client.charge(request, AbortSignal.timeout(50))).rejects.toMatchObject({
      kind: 'timeout',
    });
  });

  it('reports a refused connection as never having reached the gateway', async () => {
    const client = new GatewayClient({
      baseURL: 'http://127.0.0.1:9',
      timeoutMs: 1_000,
      logger: captureLogger().logger,
      caller: 'payments-7',
    });
    await expect(client.charge(request)).rejects.toEqual(expect.any(GatewayUnavailableError));
    await expect(client.charge(request)).rejects.toMatchObject({ kind: 'refused' });
  });
});
