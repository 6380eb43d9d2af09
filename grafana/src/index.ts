/** The lab's dashboards as objects and their queries, for the generator and the tests. */
export { labDashboards, type DashboardFile } from './dashboards';
export { PROMETHEUS } from './datasource';
export { renderDashboards, DASHBOARDS_DIR } from './generate';
export { MAIN_DASHBOARD_UID, mainDashboard } from './main-dashboard';
export {
  annotationQueries,
  dashboardPanels,
  defaultVariableValues,
  panelQueries,
  substituteVariables,
  type PanelQuery,
} from './queries';
export { RED_DASHBOARD_UID, redDashboard } from './red-dashboard';
