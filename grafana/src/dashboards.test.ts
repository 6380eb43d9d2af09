import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labDashboards } from './dashboards';
import { formatJson } from './format-json';
import { DASHBOARDS_DIR, renderDashboards } from './generate';
import { MAIN_DASHBOARD_UID } from './main-dashboard';
import { BREAKER_TRANSITIONS_ANNOTATION_EXPR } from './main-dashboard';
import {
  annotationQueries,
  dashboardPanels,
  defaultVariableValues,
  panelQueries,
  substituteVariables,
} from './queries';

const REGENERATE = 'npx tsc -p grafana/tsconfig.json && node grafana/dist/generate.js';

/** Values a person could pick for each variable, as an end-to-end test would pass them. */
const VALUES: Record<string, Record<string, string>> = {
  'circuit-breaker-lab': { breaker: 'payment-gateway' },
  'services-red': { service: 'orders' },
};

/** Every series the dashboards may read: README's metrics table, plus Prometheus's ALERTS. */
const KNOWN_METRICS = new Set([
  'circuit_breaker_state',
  'circuit_breaker_transitions_total',
  'circuit_breaker_calls_total',
  'circuit_breaker_store_up',
  'circuit_breaker_probe_lease_expiry_seconds',
  'circuit_breaker_store_sync_age_seconds',
  'circuit_breaker_view_epochs_behind',
  'circuit_breaker_store_round_trip_seconds_bucket',
  'circuit_breaker_isolated_until_seconds',
  'payments_fallback_total',
  'gateway_charges_total',
  'gateway_fault_active',
  'gateway_scenario_step',
  'orders_total',
  'http_server_request_duration_seconds_bucket',
  'http_server_request_duration_seconds_count',
  'ALERTS',
]);

const KNOWN_LABELS = new Set([
  ...['service', 'instance', 'breaker', 'state', 'from', 'to', 'scope', 'outcome', 'strategy'],
  ...['status', 'fault', 'scenario', 'step', 'method', 'route', 'status_code', 'le'],
  ...['alertname', 'alertstate', 'holder', 'reason'],
]);

const PROMQL_KEYWORDS = new Set(['or', 'and', 'unless', 'offset', 'bool']);

/** The metric names an expression reads: identifiers once labels, windows and groupings are gone. */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '')
    .replace(/\boffset\s+\w+/g, '');
  return (bare.match(/\b[a-zA-Z_:][\w:]*\b(?!\s*\()/g) ?? []).filter(
    (name) => !PROMQL_KEYWORDS.has(name),
  );
}

/** The label names an expression matches on or groups by. */
function labelNames(expr: string): string[] {
  const matchers = [...expr.matchAll(/\{([^}]*)\}/g)].flatMap(([, inner]) =>
    [...inner!.matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map(([, name]) => name!),
  );
  const groupings = [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap(([, inner]) =>
    inner!.split(',').map((name) => name.trim()),
  );
  return [...matchers, ...groupings];
}

const dashboards = labDashboards();
const panels = dashboards.flatMap(({ dashboard }) =>
  dashboardPanels(dashboard).map((panel) => ({ uid: dashboard.uid, panel })),
);

describe('grafana dashboards', () => {
  it('are committed as the generator writes them', () => {
    const stale = renderDashboards()
      .filter(({ file, text }) => {
        try {
          return readFileSync(join(DASHBOARDS_DIR, file), 'utf8') !== text;
        } catch {
          return true;
        }
      })
      .map(({ file }) => `grafana/dashboards/${file}`);
    if (stale.length > 0) {
      throw new Error(
        `Out of date with grafana/src: ${stale.join(', ')}. Regenerate with: ${REGENERATE}`,
      );
    }
  });

  it('keep the home dashboard where compose looks for it', () => {
    const home = dashboards.find(({ file }) => file === 'circuit-breaker.json');
    expect(home?.dashboard.uid).toBe(MAIN_DASHBOARD_UID);
    expect(MAIN_DASHBOARD_UID).toBe('circuit-breaker-lab');
    expect(home?.dashboard).toMatchObject({ refresh: '5s', time: { from: 'now-15m', to: 'now' } });
  });

  it.each(dashboards.map(({ file, dashboard }) => [file, dashboard] as const))(
    '%s has unique panel ids and refIds',
    (_file, dashboard) => {
      const ids = (dashboard.panels ?? []).map((panel) => panel.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const panel of dashboardPanels(dashboard)) {
        const refIds = (panel.targets ?? []).map((target) => (target as { refId?: string }).refId);
        expect(new Set(refIds).size).toBe(refIds.length);
      }
    },
  );

  it.each(panels.map(({ uid, panel }) => [`${uid} / ${panel.title ?? '?'}`, panel] as const))(
    '%s: has a title, a description and Prometheus queries',
    (_name, panel) => {
      expect(panel.title).toMatch(/\S/);
      expect(panel.description).toMatch(/\S/);
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: 'prometheus' });
      expect(panel.targets?.length).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target).toMatchObject({
          datasource: { type: 'prometheus', uid: 'prometheus' },
          refId: expect.stringMatching(/^[A-Z]$/),
          expr: expect.stringMatching(/\S/),
        });
      }
    },
  );

  it('mark every transition of the shared breaker as an annotation, from the transitions series', () => {
    const home = dashboards.find(({ dashboard }) => dashboard.uid === MAIN_DASHBOARD_UID)!;
    expect(annotationQueries(home.dashboard, { breaker: 'payment-gateway' })).toEqual([
      {
        dashboard: MAIN_DASHBOARD_UID,
        panel: 'annotation Breaker transitions',
        refId: 'annotation',
        expr: BREAKER_TRANSITIONS_ANNOTATION_EXPR.replace('$breaker', 'payment-gateway'),
      },
    ]);
    for (const name of metricNames(BREAKER_TRANSITIONS_ANNOTATION_EXPR))
      expect(KNOWN_METRICS).toContain(name);
  });

  it('leave no variable in any query once substituted', () => {
    for (const { dashboard } of dashboards) {
      const values = VALUES[dashboard.uid!]!;
      for (const candidate of [values, defaultVariableValues(dashboard)]) {
        const queries = panelQueries(dashboard, candidate, '1m');
        expect(queries.length).toBeGreaterThan(0);
        for (const { expr } of queries) {
          expect(expr).not.toContain('$');
          expect(expr).not.toMatch(/\[\s*\]/);
        }
      }
    }
  });

  it('read only the metrics and labels the lab exports', () => {
    for (const { dashboard } of dashboards) {
      for (const { panel, expr } of panelQueries(dashboard, VALUES[dashboard.uid!]!)) {
        for (const name of metricNames(expr)) {
          expect({ panel, metric: name, known: KNOWN_METRICS.has(name) }).toMatchObject({
            known: true,
          });
        }
        for (const name of labelNames(expr)) {
          expect({ panel, label: name, known: KNOWN_LABELS.has(name) }).toMatchObject({
            known: true,
          });
        }
      }
    }
  });

  it("never mix the transitions a replica went through alone into the cluster's", () => {
    const main = dashboards.find(({ dashboard }) => dashboard.uid === MAIN_DASHBOARD_UID)!;
    const transitions = panelQueries(main.dashboard, VALUES[MAIN_DASHBOARD_UID]!).filter(
      ({ expr }) => expr.includes('circuit_breaker_transitions_total'),
    );
    // Every selector of the counter names one scope: shared and local never add up.
    for (const { panel, expr } of transitions) {
      for (const selector of expr.match(/circuit_breaker_transitions_total\{[^}]*\}/g) ?? []) {
        expect({ panel, selector }).toEqual({
          panel,
          selector: expect.stringMatching(/scope="(shared|local)"/),
        });
      }
    }
    const byPanel = Object.fromEntries(transitions.map(({ panel, expr }) => [panel, expr]));
    // The cluster's: scope="shared" only, the largest count of any replica, never a sum.
    expect(byPanel['Breaker transitions']).toMatch(/^max by \(from, to\) \(/);
    expect(byPanel['Breaker transitions']).not.toContain('scope="local"');
    // What each replica went through alone: scope="local" only, kept per replica.
    expect(byPanel['Transitions replicas went through alone']).toMatch(
      /^sum by \(instance, from, to\) \(/,
    );
    expect(byPanel['Transitions replicas went through alone']).not.toContain('scope="shared"');
    expect(Object.keys(byPanel)).toHaveLength(2);
  });

  it('start with the breaker payment-gateway and every service', () => {
    const [main, red] = dashboards.map(({ dashboard }) => defaultVariableValues(dashboard));
    expect(main).toEqual({ breaker: 'payment-gateway' });
    expect(red).toEqual({ service: '.+' });
  });
});

describe('substituteVariables', () => {
  it('replaces $name and ${name}, and $__rate_interval like any other', () => {
    expect(
      substituteVariables('rate(x{breaker="$breaker",b="${breaker}"}[$__rate_interval])', {
        breaker: 'payment-gateway',
        __rate_interval: '1m',
      }),
    ).toBe('rate(x{breaker="payment-gateway",b="payment-gateway"}[1m])');
  });

  it('leaves a variable without a value, and never mistakes a longer name for a shorter one', () => {
    expect(substituteVariables('x{a="$service",b="$services"}', { service: 'orders' })).toBe(
      'x{a="orders",b="$services"}',
    );
  });
});

describe('formatJson', () => {
  it('writes 2-space JSON with a trailing newline, short arrays of values on one line', () => {
    expect(formatJson({ a: [1, 'b'], c: {}, d: [], e: [{ f: null }], g: undefined })).toBe(
      '{\n  "a": [1, "b"],\n  "c": {},\n  "d": [],\n  "e": [\n    {\n      "f": null\n    }\n  ]\n}\n',
    );
  });

  it('breaks an array of values that would pass 100 columns, as Prettier does', () => {
    const long = Array.from({ length: 12 }, (_, index) => `value-${index}`);
    expect(formatJson({ long })).toBe(
      `{\n  "long": [\n${long.map((value) => `    "${value}"`).join(',\n')}\n  ]\n}\n`,
    );
  });
});
