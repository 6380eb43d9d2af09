import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { format, resolveConfig } from 'prettier';

const FILE = path.resolve(__dirname, '../docs/benchmarks.md');

/**
 * Replaces one benchmark's section of docs/benchmarks.md (between its
 * `<!-- bench:NAME -->` markers) with the figures of this run, leaving the
 * other benchmarks' figures as they were.
 */
export async function writeSection(name: string, markdown: string): Promise<void> {
  const [begin, end] = [`<!-- bench:${name}:begin -->`, `<!-- bench:${name}:end -->`];
  const current = await readFile(FILE, 'utf8').catch(() => '# Benchmarks\n');
  const start = current.indexOf(begin);
  const stop = current.indexOf(end);
  const section = `${begin}\n\n${markdown}\n\n${end}`;
  const next =
    start >= 0 && stop > start
      ? `${current.slice(0, start)}${section}${current.slice(stop + end.length)}`
      : `${current.trimEnd()}\n\n${section}\n`;
  // Formatted as the repository's prettier would, so a benchmark run leaves the docs lint-clean.
  await writeFile(FILE, await format(next, { parser: 'markdown', ...(await resolveConfig(FILE)) }));
  process.stdout.write(`\nWritten to ${path.relative(process.cwd(), FILE)}\n`);
}

/** Writes a chart beside docs/benchmarks.md, which links it as `NAME.svg`. */
export async function writeChart(name: string, svg: string): Promise<void> {
  const file = path.resolve(path.dirname(FILE), `${name}.svg`);
  await writeFile(file, svg);
  process.stdout.write(`Chart written to ${path.relative(process.cwd(), file)}\n`);
}
