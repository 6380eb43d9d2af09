import type { Panel, RowPanel } from '@grafana/grafana-foundation-sdk/dashboard';
import type { ClassicDashboard } from './classic';

/** One query of one panel, with the dashboard's variables replaced by values. */
export interface PanelQuery {
  /** The dashboard's uid. */
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

/** Grafana's `$var` and `${var}` (not `${var:format}`, which the dashboards do not use). */
const VARIABLE = /\$\{(\w+)\}|\$(\w+)/g;

/**
 * Replaces `$name` and `${name}` by `values[name]`; a variable without a value is left
 * as it is, so a caller can see what it missed.
 */
export function substituteVariables(
  expr: string,
  values: Readonly<Record<string, string>>,
): string {
  return expr.replace(VARIABLE, (match, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? '';
    return Object.hasOwn(values, name) ? (values[name] ?? match) : match;
  });
}

/**
 * The value each template variable of the dashboard starts with: its default, or for a
 * variable set to All its `allValue` (the lab's are regexes such as `.+`).
 */
export function defaultVariableValues(dashboard: ClassicDashboard): Record<string, string> {
  const values: Record<string, string> = {};
  for (const variable of dashboard.templating.list ?? []) {
    const current = variable.current?.value;
    const value = Array.isArray(current) ? current[0] : current;
    if (value === '$__all' && variable.allValue !== undefined)
      values[variable.name] = variable.allValue;
    else if (value !== undefined) values[variable.name] = value;
  }
  return values;
}

/** Every panel of the dashboard, rows left out and collapsed rows opened. */
export function dashboardPanels(dashboard: ClassicDashboard): Panel[] {
  return (dashboard.panels ?? []).flatMap((panel: Panel | RowPanel) =>
    isRow(panel) ? panel.panels : [panel],
  );
}

const isRow = (panel: Panel | RowPanel): panel is RowPanel => panel.type === 'row';

/**
 * Every Prometheus query of every panel, ready to send to Prometheus's HTTP API: the
 * dashboard's variables replaced by `values` and `$__rate_interval` by `rateInterval`.
 */
export function panelQueries(
  dashboard: ClassicDashboard,
  values: Readonly<Record<string, string>>,
  rateInterval = '1m',
): PanelQuery[] {
  const all = { ...values, __rate_interval: rateInterval };
  return dashboardPanels(dashboard).flatMap((panel) =>
    (panel.targets ?? []).map((target) => {
      // Targets are typed as any datasource's query; the lab's are all Prometheus ones.
      const { refId, expr } = target as { refId?: string; expr?: string };
      return {
        dashboard: dashboard.uid ?? '',
        panel: panel.title ?? '',
        refId: refId ?? '',
        expr: substituteVariables(expr ?? '', all),
      };
    }),
  );
}

/**
 * Every Prometheus annotation query of the dashboard (Grafana's built-in one left out), with
 * the variables replaced by `values`, in the shape of {@link panelQueries}.
 */
export function annotationQueries(
  dashboard: ClassicDashboard,
  values: Readonly<Record<string, string>>,
): PanelQuery[] {
  return (dashboard.annotations.list ?? [])
    .filter((annotation) => annotation.datasource?.type === 'prometheus' && annotation.expr)
    .map((annotation) => ({
      dashboard: dashboard.uid ?? '',
      panel: `annotation ${annotation.name}`,
      refId: 'annotation',
      expr: substituteVariables(annotation.expr ?? '', values),
    }));
}
