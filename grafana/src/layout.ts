import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  DashboardCursorSync,
  DashboardLinkType,
  RowBuilder,
  type AnnotationQuery,
  type DashboardLink,
  type Panel,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { ClassicDashboardBuilder } from './classic';

/** A panel builder of any visualization: they all build a Panel and take an id. */
export type AnyPanelBuilder = cog.Builder<Panel> & { id(id: number): unknown };

/** A row of the dashboard: its title and the panels under it, laid out left to right. */
export interface Section {
  title: string;
  /** A variable to repeat the row (and its panels) for, one copy per selected value. */
  repeat?: string;
  panels: readonly AnyPanelBuilder[];
}

/** The tag every lab dashboard carries; the dashboards link to each other through it. */
export const LAB_TAG = 'circuit-breaker-lab';

/** A dashboard as the lab provisions it: read-only, shared crosshair, linked to the others. */
export function labDashboard(uid: string, title: string): ClassicDashboardBuilder {
  return (
    new ClassicDashboardBuilder(title)
      .uid(uid)
      .tags([LAB_TAG])
      .timezone('browser')
      // Provisioned from files with allowUiUpdates off: an edit in the UI could not be saved anyway.
      .readonly()
      // A shared crosshair: the moment the breaker opened lines up across every panel.
      .tooltip(DashboardCursorSync.Crosshair)
      .annotation({ build: builtInAnnotations })
      .link({ build: labDashboardsLink })
  );
}

/**
 * Grafana's own annotations (and alert state changes), which it adds to any dashboard that
 * lacks them; declared so the JSON is what Grafana shows.
 */
const builtInAnnotations = (): AnnotationQuery => ({
  name: 'Annotations & Alerts',
  datasource: { type: 'grafana', uid: '-- Grafana --' },
  type: 'dashboard',
  builtIn: 1,
  enable: true,
  hide: true,
  iconColor: 'rgba(0, 211, 255, 1)',
});

/**
 * A link to every lab dashboard, keeping the time range. This and the annotation are
 * written out rather than built: the SDK's builders always set `placement: inControlsMenu`,
 * which tucks them away in a menu in the newest Grafana.
 */
const labDashboardsLink = (): DashboardLink => ({
  title: 'Lab dashboards',
  type: DashboardLinkType.Dashboards,
  icon: 'external link',
  tooltip: '',
  tags: [LAB_TAG],
  asDropdown: false,
  targetBlank: false,
  includeVars: false,
  keepTime: true,
});

/**
 * Adds the sections as expanded rows, each followed by its panels, with ids from 1 in order.
 * An expanded row must not hold its panels (Grafana only reads a row's `panels` when it is
 * collapsed), so the panels go after it at the top level, which is also what a repeated row
 * repeats.
 */
export function withSections(
  dashboard: ClassicDashboardBuilder,
  sections: readonly Section[],
): ClassicDashboardBuilder {
  let id = 0;
  for (const section of sections) {
    const row = new RowBuilder(section.title).id(++id).collapsed(false);
    if (section.repeat !== undefined) row.repeat(section.repeat);
    dashboard.withRow(row);
    for (const panel of section.panels) {
      panel.id(++id);
      dashboard.withPanel(panel);
    }
  }
  return dashboard;
}
