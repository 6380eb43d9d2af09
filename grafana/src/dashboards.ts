import type { ClassicDashboard } from './classic';
import { mainDashboard } from './main-dashboard';
import { redDashboard } from './red-dashboard';

/** A generated dashboard and the file under grafana/dashboards/ that Grafana loads it from. */
export interface DashboardFile {
  /** File name in grafana/dashboards/; compose points the home page at circuit-breaker.json. */
  file: string;
  dashboard: ClassicDashboard;
}

/** Every dashboard of the lab, built fresh. */
export function labDashboards(): DashboardFile[] {
  return [
    { file: 'circuit-breaker.json', dashboard: mainDashboard() },
    { file: 'services-red.json', dashboard: redDashboard() },
  ];
}
