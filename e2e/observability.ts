import { waitFor, type Stack } from '@cb-lab/testing';
import {
  annotationQueries,
  defaultVariableValues,
  labDashboards,
  panelQueries,
} from '@cb-lab/grafana';

interface RangeSeries {
  metric: Record<string, string>;
  values: [number, string][];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * What a person sees on Grafana, proven against the real Prometheus of the
 * compose stack: an outage is driven through the gateway's admin API under
 * load, then every query of every dashboard panel runs over that window.
 */
export function observability(running: () => Stack): void {
  describe('Prometheus and the dashboards on the compose stack', () => {
    let windowStart = 0;
    let outageEnd = 0;

    const rangeQuery = async (expr: string): Promise<RangeSeries[]> => {
      const params = new URLSearchParams({
        query: expr,
        start: String(windowStart / 1_000),
        end: String(Date.now() / 1_000),
        step: '5',
      });
      const response = await fetch(
        `${running().prometheus}/api/v1/query_range?${params.toString()}`,
      );
      const body = (await response.json()) as {
        status: string;
        error?: string;
        data?: { result: RangeSeries[] };
      };
      if (body.status !== 'success')
        throw new Error(`Prometheus refused ${expr}: ${body.error ?? response.status}`);
      return body.data?.result ?? [];
    };

    const placeOrders = async (until: number) => {
      while (Date.now() < until) {
        await fetch(`${running().orders}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ customerId: 'c-observed', amount: 1999, currency: 'EUR' }),
        });
        await sleep(100);
      }
    };

    beforeAll(async () => {
      const { gateway, adminToken } = running();
      windowStart = Date.now() - 30_000;
      // A scenario, so the scenario panel has a step to show: 45 s of errors, then healthy.
      const started = await fetch(`${gateway}/admin/scenario`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'e2e-outage',
          steps: [
            { name: 'errors', durationMs: 45_000, faults: { errorRate: 1, errorStatus: 503 } },
            { name: 'healthy', durationMs: 5_000, faults: {} },
          ],
        }),
      });
      expect(started.status).toBe(201);
      // Orders throughout, so the breaker opens, probes every open period and closes after healing.
      await placeOrders(Date.now() + 45_000);
      outageEnd = Date.now();
      await placeOrders(Date.now() + 15_000);
      await waitFor(async () => {
        const states = Object.values(await running().circuits());
        return states.every((view) => view?.state === 'closed');
      }, 'every replica to close after the outage');
      // Two scrapes and a rule evaluation, so the last samples are in Prometheus.
      await sleep(11_000);
    });

    it('answers every query of every dashboard panel and annotation with data from the real stack', async () => {
      const empty: string[] = [];
      let checked = 0;
      for (const { dashboard } of labDashboards()) {
        const values = defaultVariableValues(dashboard);
        // The annotations too: the outage's transitions must each leave a mark.
        const queries = [
          ...panelQueries(dashboard, values, '1m'),
          ...annotationQueries(dashboard, values),
        ];
        for (const query of queries) {
          const result = await rangeQuery(query.expr);
          checked += 1;
          if (result.length === 0)
            empty.push(`${query.dashboard} / ${query.panel} / ${query.refId}: ${query.expr}`);
        }
      }
      expect(checked).toBeGreaterThan(20);
      expect(empty).toEqual([]);
    });

    it('shows the breaker open on all three replicas during the outage and closed after it', async () => {
      const open = await rangeQuery(
        'circuit_breaker_state{breaker="payment-gateway",state="open"} == 1',
      );
      const openBeforeTheEnd = open.filter((series) =>
        series.values.some(([at]) => at * 1_000 <= outageEnd),
      );
      expect(new Set(openBeforeTheEnd.map((series) => series.metric.instance)).size).toBe(3);

      const closedNow = await rangeQuery(
        'circuit_breaker_state{breaker="payment-gateway",state="closed"}',
      );
      expect(closedNow).toHaveLength(3);
      for (const series of closedNow)
        expect(series.values[series.values.length - 1]?.[1]).toBe('1');
    });

    it('fires the alerts a long outage should fire, in the real run', async () => {
      const alerts = await rangeQuery('ALERTS');
      const seen = (name: string, state: 'pending' | 'firing') =>
        alerts.some(
          (series) => series.metric.alertname === name && series.metric.alertstate === state,
        );
      // The breaker kept re-opening after failed probes: more than 3 openings in 5 minutes.
      expect(seen('CircuitBreakerFlapping', 'firing')).toBe(true);
      // Open for 45 s and failing every probe: both on their way (they fire after 2 min and 1 min).
      expect(seen('CircuitBreakerOpenTooLong', 'pending')).toBe(true);
      expect(seen('GatewayErrorRatioHigh', 'pending')).toBe(true);
      // Redis never went away. A replica may still leave it for a moment when one store call
      // overruns its 100 ms budget on a busy machine (it re-joins on its next read), so the
      // alert may turn pending; it must never fire (30 s off Redis).
      expect(seen('CircuitBreakerStoreDown', 'firing')).toBe(false);
    });
  });
}
