import { orderSchema, type Order } from '@cb-lab/contracts';
import { sampleValue, waitFor, COMPOSE_BREAKER_OPEN_MS, type Stack } from '@cb-lab/testing';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The heart of the lab on the real stack: the gateway fails, all three
 * payments replicas open together, the gateway is shielded except for one
 * probe per open period, and everything closes again once it heals.
 */
export function sharedBreaker(running: () => Stack): void {
  describe('the shared breaker on the compose stack', () => {
    const placeOrder = async (): Promise<Order> => {
      const response = await fetch(`${running().orders}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ customerId: 'c-outage', amount: 1999, currency: 'EUR' }),
      });
      return orderSchema.parse(await response.json());
    };
    const setFaults = (faults: Record<string, unknown> | null) =>
      running().setGatewayFaults(faults);
    const circuits = async () => Object.values(await running().circuits());
    const gatewayReached = async (outcome: string) =>
      sampleValue(
        await (await fetch(`${running().gateway}/metrics`)).text(),
        'gateway_charges_total',
        { outcome },
      ) ?? 0;
    /** Summed over every replica: the breaker's own account of its calls and transitions. */
    const breakerCounter = async (name: string, labels: Record<string, string>) => {
      const values = await Promise.all(
        Object.values(running().payments).map(async (url) =>
          sampleValue(await (await fetch(`${url}/metrics`)).text(), name, {
            breaker: 'payment-gateway',
            ...labels,
          }),
        ),
      );
      return values.map((value) => value ?? 0);
    };

    const setLoadRate = async (ratePerSecond: number) => {
      const response = await fetch(`${running().loadGenerator}/load`, {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${running().adminToken}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ ratePerSecond }),
      });
      expect(response.status).toBe(200);
    };

    // The background load would add its own failures and charges to the counts below.
    beforeAll(async () => {
      await setLoadRate(0);
    });
    afterAll(async () => {
      await setFaults(null);
      await setLoadRate(2);
    });

    it('opens on all three replicas together when the gateway starts failing', async () => {
      await setFaults({ errorRate: 1, errorStatus: 503 });
      const orders: Order[] = [];
      for (let i = 0; i < 8; i += 1) orders.push(await placeOrder());

      expect(orders.map((o) => o.status)).toEqual(Array(8).fill('payment_failed'));
      // Five failures (the threshold, counted across the cluster), then the breaker answers.
      expect(orders.map((o) => o.failureReason)).toEqual([
        ...Array(5).fill('gateway_unavailable'),
        ...Array(3).fill('circuit_open'),
      ]);
      const states = await circuits();
      expect(states.map((c) => c?.state)).toEqual(['open', 'open', 'open']);
      expect(new Set(states.map((c) => c?.replica)).size).toBe(3);
      expect(await gatewayReached('faulted')).toBe(5);
    });

    it('sends the gateway nothing while open but one probe per open period', async () => {
      const reachedBefore = await gatewayReached('faulted');
      const probesBefore = await breakerCounter('circuit_breaker_calls_total', {
        outcome: 'probe',
      });
      const halfOpensBefore = await breakerCounter('circuit_breaker_transitions_total', {
        from: 'open',
        to: 'half_open',
        scope: 'shared',
      });

      // Steady traffic for a little over two open periods, the gateway failing throughout.
      const until = Date.now() + 2 * COMPOSE_BREAKER_OPEN_MS + 1_000;
      let placed = 0;
      while (Date.now() < until) {
        const order = await placeOrder();
        expect(order.status).toBe('payment_failed');
        placed += 1;
        await sleep(50);
      }

      const reached = (await gatewayReached('faulted')) - reachedBefore;
      const probes = (
        await breakerCounter('circuit_breaker_calls_total', { outcome: 'probe' })
      ).reduce((sum, value, i) => sum + value - (probesBefore[i] ?? 0), 0);
      const halfOpens = (
        await breakerCounter('circuit_breaker_transitions_total', {
          from: 'open',
          to: 'half_open',
          scope: 'shared',
        })
      ).map((value, i) => value - (halfOpensBefore[i] ?? 0));
      process.stdout.write(
        `${placed} orders during the outage; ${reached} reached the gateway, all probes\n`,
      );
      expect(placed).toBeGreaterThan(probes);
      expect(probes).toBeGreaterThanOrEqual(1);
      // Every request that reached the gateway was a probe, and every replica saw one half-open per probe.
      expect(reached).toBe(probes);
      expect(halfOpens).toEqual([probes, probes, probes]);
    });

    it('closes everywhere once the gateway heals, and orders are paid again', async () => {
      await setFaults(null);
      await sleep(COMPOSE_BREAKER_OPEN_MS);
      await waitFor(
        async () => (await placeOrder()).status === 'paid',
        'an order to be paid again',
      );
      await waitFor(
        async () => (await circuits()).every((c) => c?.state === 'closed'),
        'every replica to close',
      );
      expect((await placeOrder()).status).toBe('paid');
    });
  });
}
