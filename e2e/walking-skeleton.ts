import { circuitViewSchema, loadStatusSchema, orderSchema, type Order } from '@cb-lab/contracts';
import { sampleValue, waitFor, type Stack } from '@cb-lab/testing';

const orderOf = async (response: Response): Promise<Order> =>
  orderSchema.parse(await response.json());

/** The walking skeleton: orders paid end to end over every payments replica. */
export function walkingSkeleton(running: () => Stack): void {
  describe('the compose stack', () => {
    it('pays orders end to end and reads them back as paid', async () => {
      const { orders } = running();
      const placed: Order[] = [];
      for (let i = 0; i < 30; i += 1) {
        const response = await fetch(`${orders}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ customerId: `c-${i}`, amount: 1999, currency: 'EUR' }),
        });
        expect(response.status).toBe(201);
        placed.push(await orderOf(response));
      }
      expect(placed.map((order) => order.status)).toEqual(Array(30).fill('paid'));

      for (const order of placed) {
        expect(await orderOf(await fetch(`${orders}/orders/${order.id}`))).toEqual(order);
      }
    });

    it('spreads payments over all three replicas', async () => {
      const { payments } = running();
      const served: Record<string, number> = {};
      for (const [name, url] of Object.entries(payments)) {
        const text = await (await fetch(`${url}/metrics`)).text();
        served[name] =
          sampleValue(text, 'http_server_request_duration_seconds_count', {
            method: 'POST',
            route: '/payments',
          }) ?? 0;
      }
      expect(Object.keys(served)).toHaveLength(3);
      for (const count of Object.values(served)) expect(count).toBeGreaterThan(0);
      expect(Object.values(served).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(30);
    });

    it('answers the circuit endpoint on every replica with the spec shape', async () => {
      const { payments } = running();
      const replicas = new Set<string>();
      for (const url of Object.values(payments)) {
        const circuit = circuitViewSchema.parse(
          await (await fetch(`${url}/payments/circuit`)).json(),
        );
        expect(circuit).toMatchObject({ breaker: 'payment-gateway', state: 'closed', failures: 0 });
        expect(['redis', 'local']).toContain(circuit.store);
        replicas.add(circuit.replica);
      }
      expect(replicas.size).toBe(3);
    });

    it('shows the charges at the gateway', async () => {
      const text = await (await fetch(`${running().gateway}/metrics`)).text();
      expect(
        sampleValue(text, 'gateway_charges_total', { outcome: 'approved' }),
      ).toBeGreaterThanOrEqual(30);
    });

    it('has the load generator keep orders flowing from the start', async () => {
      const paid = async () =>
        sampleValue(
          await (await fetch(`${running().loadGenerator}/metrics`)).text(),
          'load_generator_orders_total',
          {
            outcome: 'paid',
          },
        ) ?? 0;
      await waitFor(async () => (await paid()) > 0, 'the load generator to get an order paid');
      expect(
        loadStatusSchema.parse(await (await fetch(`${running().loadGenerator}/load`)).json()),
      ).toMatchObject({ ratePerSecond: 2 });
    });

    it('lets Prometheus discover and scrape each payments replica', async () => {
      const query = async () => {
        const response = await fetch(
          `${running().prometheus}/api/v1/query?query=${encodeURIComponent('up{job="payments"} == 1')}`,
        );
        // Prometheus's own answer, not one of the lab's contracts.
        const body = (await response.json()) as { data: { result: unknown[] } };
        return body.data.result.length;
      };
      // Prometheus scrapes every 5 s; wait for the first scrape of all three.
      let up = await query();
      for (let i = 0; i < 30 && up < 3; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        up = await query();
      }
      expect(up).toBe(3);
    });
  });
}
