// Writes the dashboards defined in src/dashboards.ts to dashboards/*.json.
// Run: npm run dashboards -w @mem0-stack/e2e  (or: npx tsx collector/grafana/generate.ts)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dashboardJson } from './src/dashboardJson';
import { buildDashboards } from './src/dashboards';

const outDir = join(__dirname, 'dashboards');
mkdirSync(outDir, { recursive: true });
for (const [file, dashboard] of Object.entries(buildDashboards())) {
  writeFileSync(join(outDir, file), dashboardJson(dashboard));
  console.log(`wrote collector/grafana/dashboards/${file}`);
}
