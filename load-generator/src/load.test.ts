import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { runLoad, type OrderSample } from './load';

/** A stand-in for orders on loopback: every second order paid, the rest refused by a breaker. */
async function fakeOrders(): Promise<{ url: string; server: Server }> {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      n += 1;
      const now = new Date().toISOString();
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          id: `o-${n}`,
          customerId: 'c',
          amount: 1999,
          currency: 'EUR',
          createdAt: now,
          updatedAt: now,
          ...(n % 2 === 0
            ? { status: 'paid' }
            : { status: 'payment_failed', failureReason: 'circuit_open' }),
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('runLoad', () => {
  it('sums a run up in counters and a histogram, and hands every sample to onSample only', async () => {
    const { url, server } = await fakeOrders();
    try {
      const seen: OrderSample[] = [];
      const result = await runLoad({
        ordersUrl: url,
        ratePerSecond: 500,
        durationMs: 2_000,
        onSample: (sample) => seen.push(sample),
      });
      expect(result.orders + result.skipped).toBe(1_000);
      expect(seen).toHaveLength(result.orders);
      expect(result.latency.count).toBe(result.orders);
      expect(result.outcomes.of('paid') + result.outcomes.of('payment_failed')).toBe(result.orders);
      expect(result.outcomes.describe()).toMatch(/payment_failed \d+ \(circuit_open \d+\)/);
      expect(result.latency.max).toBe(Math.max(...seen.map((s) => s.latencyMs)));
      // The result holds no sample: its size does not depend on the run's length.
      expect(Object.keys(result).sort()).toEqual([
        'durationMs',
        'latency',
        'orders',
        'outcomes',
        'skipped',
      ]);
    } finally {
      server.close();
    }
  });
});
