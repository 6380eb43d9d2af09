/**
 * JSON as the repository's Prettier writes it (2 spaces, 100 columns, trailing newline), so
 * `prettier --check .` passes on the generated dashboards without a Prettier run in the
 * generator (Prettier 3 loads itself with a dynamic import, which jest cannot run).
 *
 * Prettier keeps a non-empty object expanded when its first key is on a new line, which is
 * how this prints every object; it puts an array of plain values on one line when it fits.
 */

const PRINT_WIDTH = 100;
const INDENT = '  ';

/** Formats a JSON value the way Prettier formats it in a `.json` file, newline included. */
export function formatJson(value: unknown): string {
  // The round trip drops what JSON has no place for (undefined, functions) as JSON.stringify does.
  return `${print(JSON.parse(JSON.stringify(value)) as unknown, '', 0, 0)}\n`;
}

const isScalar = (value: unknown) => value === null || typeof value !== 'object';

/**
 * `column` is where the value starts on its line, `tail` how many characters follow it
 * there (1 for the comma after an element or property that is not the last).
 */
function print(value: unknown, indent: string, column: number, tail: number): string {
  if (Array.isArray(value)) {
    const items = value as unknown[];
    if (items.length === 0) return '[]';
    if (items.every(isScalar)) {
      const flat = `[${items.map((item) => JSON.stringify(item)).join(', ')}]`;
      if (column + flat.length + tail <= PRINT_WIDTH) return flat;
    }
    const inner = indent + INDENT;
    const lines = items.map(
      (item, index) => inner + print(item, inner, inner.length, index < items.length - 1 ? 1 : 0),
    );
    return `[\n${lines.join(',\n')}\n${indent}]`;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    const inner = indent + INDENT;
    const lines = entries.map(([key, item], index) => {
      const prefix = `${inner}${JSON.stringify(key)}: `;
      return prefix + print(item, inner, prefix.length, index < entries.length - 1 ? 1 : 0);
    });
    return `{\n${lines.join(',\n')}\n${indent}}`;
  }
  return JSON.stringify(value);
}
