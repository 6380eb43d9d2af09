import {
  QueryVariableBuilder,
  VariableRefresh,
  VariableSort,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { PROMETHEUS } from './datasource';

export interface LabelValuesOptions {
  /** The variable's name, `$name` in queries. */
  name: string;
  label: string;
  description: string;
  /** The metric whose label values the variable offers. */
  metric: string;
  /** The label whose values it offers (by default the variable's name). */
  labelName?: string;
  /** The value selected when the dashboard opens; none: All. */
  initial?: string;
}

/**
 * A variable offering the values a label takes on a metric, re-read with the time range so
 * a new breaker or service shows up. Without an initial value it is multi-valued and starts
 * on All.
 */
export function labelValuesVariable(options: LabelValuesOptions): QueryVariableBuilder {
  const labelName = options.labelName ?? options.name;
  const query = `label_values(${options.metric}, ${labelName})`;
  const variable = new QueryVariableBuilder(options.name)
    .label(options.label)
    .description(options.description)
    .datasource(PROMETHEUS)
    // The object Grafana's Prometheus variable editor saves; `query` is what it runs, and
    // `label` and `metric` are what the editor shows.
    .query({
      qryType: 1,
      label: labelName,
      metric: options.metric,
      query,
      refId: 'PrometheusVariableQueryEditor-VariableQuery',
    })
    .definition(query)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc);
  if (options.initial !== undefined) {
    return variable
      .current({ text: options.initial, value: options.initial })
      .multi(false)
      .includeAll(false);
  }
  return (
    variable
      .current({ text: ['All'], value: ['$__all'] })
      .multi(true)
      .includeAll(true)
      // A regex Prometheus matches as it is, instead of every value spelled out in the query.
      .allValue('.+')
  );
}
