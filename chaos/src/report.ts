import { describeTrip, type RedisEvent } from './plan';
import type { RunResult } from './run';

const ms = (value: number) => `${value.toFixed(1)} ms`;

/** Whether every invariant held in a run. */
export const held = (run: RunResult): boolean =>
  run.checks.every((check) => check.violations.length === 0);

/** One line of figures for a run, ending with the invariants' verdict. */
export function describeRun(run: RunResult): string {
  const f = run.figures;
  const verdict = held(run)
    ? `all ${run.checks.length} ok`
    : `FAILED: ${run.checks
        .filter((c) => c.violations.length > 0)
        .map((c) => c.name)
        .join(', ')}`;
  return (
    `seed ${run.plan.seed} (${describeTrip(run.plan.settings.trip)}): ${f.calls} calls, ` +
    `${f.ran} ran (${f.probes} probes, ${f.local} local), ${f.rejected} rejected; ` +
    `worst on the store ${ms(f.worstStoreWaitMs)}, propagation ${ms(f.slowestOpeningMs)}, ` +
    `event loop ${ms(f.eventLoopMaxMs)} | ${verdict}`
  );
}

/** How many situations each invariant checked in a run. */
export function describeChecks(run: RunResult): string {
  return run.checks.map((c) => `${c.name}: ${c.checked} checked`).join('; ');
}

function describeEvent(event: RedisEvent): string {
  switch (event.kind) {
    case 'pause':
      return `pause@${event.at} for ${event.ms} ms (${event.during})`;
    case 'slow':
      return `slow@${event.at} for ${event.ms} ms (+${event.latencyMs} ms each way)`;
    default:
      return `${event.kind}@${event.at}`;
  }
}

/** Everything needed to understand and replay a failed run. */
export function describeFailure(run: RunResult): string {
  const lines = [
    `seed ${run.plan.seed} broke an invariant; replay with: npm run chaos -- --seed ${run.plan.seed} --duration ${run.plan.durationMs / 1_000}`,
    `settings: ${JSON.stringify(run.plan.settings)}`,
    `dependency: ${run.plan.dependency.map((s) => `${s.behaviour} ${s.from}–${s.until}`).join(', ')}`,
    `redis: ${run.plan.redis.map(describeEvent).join(', ')}`,
    `troubles: ${run.trace.troubles.map((t) => `${t.kind} ${ms(t.from)}–${ms(t.until)}`).join(', ')}`,
  ];
  for (const check of run.checks) {
    const status = check.violations.length === 0 ? 'ok' : 'VIOLATED';
    lines.push(`${check.name}: ${status} (${check.checked} checked)`);
    for (const violation of check.violations) lines.push(`  - ${violation}`);
  }
  return lines.join('\n');
}

/** The closing line of several runs. */
export function describeSummary(runs: readonly RunResult[]): string {
  const sum = (pick: (run: RunResult) => number) =>
    runs.reduce((total, run) => total + pick(run), 0);
  const worst = (pick: (run: RunResult) => number) => Math.max(0, ...runs.map(pick));
  return (
    `summary: ${runs.filter(held).length} of ${runs.length} runs held every invariant; ` +
    `${sum((r) => r.figures.calls)} calls, ${sum((r) => r.figures.probes)} probes, ` +
    `worst on the store ${ms(worst((r) => r.figures.worstStoreWaitMs))}, ` +
    `worst propagation ${ms(worst((r) => r.figures.slowestOpeningMs))}, ` +
    `worst event loop ${ms(worst((r) => r.figures.eventLoopMaxMs))}`
  );
}
