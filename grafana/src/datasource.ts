import type { DataSourceRef } from '@grafana/grafana-foundation-sdk/common';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';

/**
 * The Prometheus datasource as grafana/provisioning/datasources/prometheus.yml provisions it.
 * Its uid is fixed there, so every panel can name it and the dashboards load without an
 * import step that asks which datasource to use.
 */
export const PROMETHEUS: DataSourceRef = { type: 'prometheus', uid: 'prometheus' };

/** Options of one Prometheus query of a panel. */
export interface QueryOptions {
  /** Series name in the legend, e.g. `{{instance}}`. */
  legend?: string;
  /** One value at the end of the range (tables, stats) instead of a time series. */
  instant?: boolean;
}

/**
 * One Prometheus query of a panel. Each names the datasource and a refId itself:
 * Grafana fills them in when absent, but then the saved JSON differs from the generated one.
 */
export function promQuery(
  refId: string,
  expr: string,
  { legend, instant = false }: QueryOptions = {},
): DataqueryBuilder {
  const query = new DataqueryBuilder().datasource(PROMETHEUS).refId(refId).expr(expr);
  if (legend !== undefined) query.legendFormat(legend);
  return instant ? query.instant() : query.range();
}

/** The refId of a panel's n-th query (from 0): A, B, C… as Grafana names them. */
export const refId = (index: number): string => String.fromCharCode(65 + index);
