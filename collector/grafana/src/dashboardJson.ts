import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';

/** The exact text written to collector/grafana/dashboards/<name>.json. */
export function dashboardJson(dashboard: Dashboard): string {
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}
