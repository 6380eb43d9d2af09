/* eslint-disable @typescript-eslint/no-deprecated --
 * The SDK marks its classic dashboard model deprecated in favour of the v2 schema, which
 * Grafana 12 keeps behind feature toggles (dashboardNewLayouts, kubernetesDashboards).
 * File provisioning and the home dashboard path read the classic JSON model, so the lab
 * builds that one; these aliases are the only place that names it.
 */
import { Dashboard, DashboardBuilder } from '@grafana/grafana-foundation-sdk/dashboard';

/** A dashboard in Grafana's classic JSON model, the one provisioned files are read in. */
export type ClassicDashboard = Dashboard;

/** The SDK's builder of classic dashboards. */
export const ClassicDashboardBuilder = DashboardBuilder;
export type ClassicDashboardBuilder = DashboardBuilder;
