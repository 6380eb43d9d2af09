import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { labDashboards } from './dashboards';
import { formatJson } from './format-json';

/**
 * grafana/dashboards/, found from this file: grafana/src/ under jest, grafana/dist/ once
 * built, so the generator can run from any working directory.
 */
export const DASHBOARDS_DIR = resolve(__dirname, '..', 'dashboards');

/** Each dashboard's file name and the exact text the generator writes into it. */
export function renderDashboards(): { file: string; text: string }[] {
  return labDashboards().map(({ file, dashboard }) => ({ file, text: formatJson(dashboard) }));
}

/** Writes every dashboard that changed; returns the files written. */
export function generate(dir = DASHBOARDS_DIR): string[] {
  const written: string[] = [];
  for (const { file, text } of renderDashboards()) {
    const path = join(dir, file);
    if (readIfExists(path) === text) continue;
    writeFileSync(path, text);
    written.push(path);
  }
  return written;
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

if (require.main === module) {
  const written = generate();
  process.stdout.write(
    written.length === 0
      ? `dashboards in ${DASHBOARDS_DIR} are up to date\n`
      : written.map((path) => `wrote ${path}\n`).join(''),
  );
}
