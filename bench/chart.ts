/** One line of a latency chart: a value (ms) per second of the phase. */
export interface ChartSeries {
  label: string;
  color: string;
  /** Milliseconds per second of the phase; `NaN` where nothing completed. */
  values: readonly number[];
  dashed?: boolean;
}

export interface LatencyChart {
  title: string;
  /** What the x axis counts, e.g. "seconds since the gateway started timing out". */
  xLabel: string;
  series: readonly ChartSeries[];
  /** Horizontal reference lines, e.g. the healthy p99. */
  references?: readonly { label: string; ms: number; color: string }[];
}

const WIDTH = 900;
const HEIGHT = 360;
const MARGIN = { left: 70, right: 200, top: 40, bottom: 50 };

const escape = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Latency per second on a logarithmic axis (a fast failure and a timeout
 * differ by three orders of magnitude) as a standalone SVG, so the docs need
 * no plotting tool.
 */
export function renderLatencyChart(chart: LatencyChart): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const seconds = Math.max(...chart.series.map((s) => s.values.length), 1);
  const all = [
    ...chart.series.flatMap((s) => s.values.filter((v) => Number.isFinite(v) && v > 0)),
    ...(chart.references ?? []).map((r) => r.ms),
  ];
  const decades = {
    low: Math.floor(Math.log10(Math.min(...all, 1))),
    high: Math.ceil(Math.log10(Math.max(...all, 10))),
  };
  const x = (second: number) => MARGIN.left + (second / Math.max(seconds - 1, 1)) * plotWidth;
  const y = (ms: number) =>
    MARGIN.top +
    plotHeight -
    ((Math.log10(Math.max(ms, 10 ** decades.low)) - decades.low) / (decades.high - decades.low)) *
      plotHeight;
  const parts = [
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${MARGIN.left}" y="22" font-size="15" font-weight="bold">${escape(chart.title)}</text>`,
    `<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 10}" font-size="12" text-anchor="middle">${escape(chart.xLabel)}</text>`,
  ];
  for (let decade = decades.low; decade <= decades.high; decade += 1) {
    const ms = 10 ** decade;
    const label = ms >= 1_000 ? `${ms / 1_000} s` : `${ms} ms`;
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${y(ms).toFixed(1)}" y2="${y(ms).toFixed(1)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 8}" y="${(y(ms) + 4).toFixed(1)}" font-size="11" text-anchor="end">${label}</text>`,
    );
  }
  const step = seconds > 40 ? 10 : 5;
  for (let second = 0; second < seconds; second += step)
    parts.push(
      `<text x="${x(second).toFixed(1)}" y="${MARGIN.top + plotHeight + 16}" font-size="11" text-anchor="middle">${second}</text>`,
    );
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#999"/>`,
  );
  let legendY = MARGIN.top + 10;
  const legend = (label: string, color: string, dashed: boolean) => {
    const dash = dashed ? ' stroke-dasharray="5 3"' : '';
    parts.push(
      `<line x1="${WIDTH - MARGIN.right + 12}" x2="${WIDTH - MARGIN.right + 36}" y1="${legendY}" y2="${legendY}" stroke="${color}" stroke-width="2"${dash}/>`,
      `<text x="${WIDTH - MARGIN.right + 42}" y="${legendY + 4}" font-size="12">${escape(label)}</text>`,
    );
    legendY += 20;
  };
  for (const reference of chart.references ?? []) {
    parts.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotWidth}" y1="${y(reference.ms).toFixed(1)}" y2="${y(reference.ms).toFixed(1)}" stroke="${reference.color}" stroke-dasharray="2 3"/>`,
    );
    legend(reference.label, reference.color, true);
  }
  for (const series of chart.series) {
    // A gap where a second has no value, rather than a line drawn through it.
    const segments: string[][] = [[]];
    series.values.forEach((ms, second) => {
      if (Number.isFinite(ms))
        segments[segments.length - 1]?.push(`${x(second).toFixed(1)},${y(ms).toFixed(1)}`);
      else segments.push([]);
    });
    const dash = series.dashed === true ? ' stroke-dasharray="5 3"' : '';
    for (const points of segments.filter((s) => s.length > 0))
      parts.push(
        `<polyline fill="none" stroke="${series.color}" stroke-width="2"${dash} points="${points.join(' ')}"/>`,
      );
    legend(series.label, series.color, series.dashed === true);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="sans-serif">\n${parts.join('\n')}\n</svg>\n`;
}

/** Bars side by side: one group per question, one bar per subject in each group. */
export interface BarChart {
  title: string;
  /** What the bars count, under the axis, e.g. "calls". */
  unit: string;
  subjects: readonly { label: string; color: string }[];
  /** Each group's values, in the order of `subjects`. */
  groups: readonly { label: string; values: readonly number[] }[];
}

/**
 * Horizontal grouped bars on a linear axis, each bar labelled with its
 * value (a bar of 0 is still labelled, so "none" reads as a figure).
 */
export function renderBarChart(chart: BarChart): string {
  const bar = 16;
  const groupGap = 34;
  const left = 330;
  const right = 60;
  const top = 50;
  const groupHeight = chart.subjects.length * bar;
  const plotHeight = chart.groups.length * (groupHeight + groupGap);
  const height = top + plotHeight + 20 + chart.subjects.length * 20 + 20;
  const plotWidth = WIDTH - left - right;
  const max = Math.max(1, ...chart.groups.flatMap((g) => g.values));
  const x = (value: number) => left + (value / max) * plotWidth;
  const parts = [
    `<rect width="${WIDTH}" height="${height}" fill="white"/>`,
    `<text x="20" y="24" font-size="15" font-weight="bold">${escape(chart.title)}</text>`,
    `<line x1="${left}" x2="${left}" y1="${top - 10}" y2="${top + plotHeight - groupGap + 10}" stroke="#999"/>`,
  ];
  chart.groups.forEach((group, g) => {
    const y0 = top + g * (groupHeight + groupGap);
    parts.push(
      `<text x="${left - 10}" y="${(y0 + groupHeight / 2 + 4).toFixed(1)}" font-size="12" text-anchor="end">${escape(group.label)}</text>`,
    );
    group.values.forEach((value, s) => {
      const y = y0 + s * bar;
      const color = chart.subjects[s]?.color ?? '#777';
      parts.push(
        `<rect x="${left}" y="${y + 1}" width="${(x(value) - left).toFixed(1)}" height="${bar - 2}" fill="${color}"/>`,
        `<text x="${(x(value) + 5).toFixed(1)}" y="${y + bar - 4}" font-size="11">${value}</text>`,
      );
    });
  });
  const legendTop = top + plotHeight;
  parts.push(
    `<text x="${left}" y="${legendTop}" font-size="12">${escape(chart.unit)} (0 to ${max}, linear)</text>`,
  );
  chart.subjects.forEach((subject, s) => {
    const y = legendTop + 20 + s * 20;
    parts.push(
      `<rect x="${left}" y="${y - 10}" width="24" height="12" fill="${subject.color}"/>`,
      `<text x="${left + 32}" y="${y}" font-size="12">${escape(subject.label)}</text>`,
    );
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="sans-serif">\n${parts.join('\n')}\n</svg>\n`;
}
