import {
  GraphDrawStyle,
  LegendDisplayMode,
  LegendPlacement,
  SortOrder,
  StackingConfigBuilder,
  StackingMode,
  TooltipDisplayMode,
  VisibilityMode,
  VizLegendOptionsBuilder,
  VizTooltipOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import {
  FieldColorModeId,
  MappingType,
  type ValueMapping,
} from '@grafana/grafana-foundation-sdk/dashboard';
import type { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { PROMETHEUS } from './datasource';

/** What every panel of the lab has: a title, a line on what to look for, its queries and size. */
export interface PanelBase {
  title: string;
  /** Shown under the (i) of the panel: what to look for, not how the query works. */
  description: string;
  targets: readonly DataqueryBuilder[];
  /** Width in grid columns (the dashboard is 24 wide). */
  width: number;
  height: number;
}

export interface TimeseriesOptions extends PanelBase {
  /** A Grafana unit id: `s`, `ops`, `reqps`, `percentunit`, `short`. */
  unit: string;
  /** Fixed colours by series name, so `failure` is red whatever order the series come in. */
  colors?: Readonly<Record<string, string>>;
  stacked?: boolean;
  /** Bars, for counts of rare events that a line would smear between samples. */
  bars?: boolean;
  min?: number;
  max?: number;
  decimals?: number;
}

/** One value of a state timeline: its text and colour. */
export interface StateOption {
  value: number;
  text: string;
  color: string;
}

export interface StateTimelineOptions extends PanelBase {
  states: readonly StateOption[];
  /** Different states for the series of one query (by refId), e.g. scenario steps among faults. */
  statesByQuery?: Readonly<Record<string, readonly StateOption[]>>;
}

/** Legend under the graph, tooltip with every series sorted: the same in every panel. */
const legend = () =>
  new VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(LegendDisplayMode.List)
    .placement(LegendPlacement.Bottom)
    .calcs([]);

const tooltip = () =>
  new VizTooltipOptionsBuilder().mode(TooltipDisplayMode.Multi).sort(SortOrder.Descending);

/** A fixed-colour override value. */
const fixedColor = (color: string) => ({
  id: 'color',
  value: { mode: FieldColorModeId.Fixed, fixedColor: color },
});

/** Value mappings that turn the numbers a query encodes states with into words and colours. */
export function stateMappings(states: readonly StateOption[]): ValueMapping[] {
  return [
    {
      type: MappingType.ValueToText,
      options: Object.fromEntries(
        states.map(({ value, text, color }, index) => [String(value), { text, color, index }]),
      ),
    },
  ];
}

/** A time series panel with the lab's defaults: thin lines, light fill, no points. */
export function timeseriesPanel(options: TimeseriesOptions): timeseries.PanelBuilder {
  const panel = new timeseries.PanelBuilder()
    .title(options.title)
    .description(options.description)
    .datasource(PROMETHEUS)
    .targets([...options.targets])
    .span(options.width)
    .height(options.height)
    .unit(options.unit)
    .legend(legend())
    .tooltip(tooltip())
    .lineWidth(1)
    .fillOpacity(options.bars ? 80 : 10)
    .showPoints(VisibilityMode.Never)
    .drawStyle(options.bars ? GraphDrawStyle.Bars : GraphDrawStyle.Line);
  if (options.stacked) panel.stacking(new StackingConfigBuilder().mode(StackingMode.Normal));
  if (options.min !== undefined) panel.min(options.min);
  if (options.max !== undefined) panel.max(options.max);
  if (options.decimals !== undefined) panel.decimals(options.decimals);
  for (const [name, color] of Object.entries(options.colors ?? {})) {
    panel.overrideByName(name, [fixedColor(color)]);
  }
  return panel;
}

/**
 * A state timeline: one row per series, coloured by what its value means. The queries
 * behind it encode each state as a number, since a timeline colours values, not labels.
 */
export function stateTimelinePanel(options: StateTimelineOptions): statetimeline.PanelBuilder {
  const panel = new statetimeline.PanelBuilder()
    .title(options.title)
    .description(options.description)
    .datasource(PROMETHEUS)
    .targets([...options.targets])
    .span(options.width)
    .height(options.height)
    .mappings(stateMappings(options.states))
    .showValue(VisibilityMode.Auto)
    .mergeValues(true)
    .rowHeight(0.8)
    .fillOpacity(80)
    .lineWidth(0)
    .legend(legend())
    .tooltip(tooltip());
  for (const [refId, states] of Object.entries(options.statesByQuery ?? {})) {
    panel.overrideByQuery(refId, [{ id: 'mappings', value: stateMappings(states) }]);
  }
  return panel;
}
