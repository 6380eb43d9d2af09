/**
 * Seeded chaos runs of the shared breaker against a real Redis (started with
 * testcontainers from REDIS_IMAGE): a line of figures per run and a summary.
 *
 *   npm run chaos -- --seeds 20 --duration 15    seeds 1 to 20, 15 s each
 *   npm run chaos -- --seed 7 --duration 15      one seed again
 *
 * Exits with 1 when a run broke an invariant, after printing how to replay it.
 */
import { parseArgs } from 'node:util';
import { startRedis } from '@cb-lab/testing';
import { makePlan } from './plan';
import { describeChecks, describeFailure, describeRun, describeSummary, held } from './report';
import { runChaos, type RunResult } from './run';

function parse(): { seeds: number[]; durationMs: number; verbose: boolean } {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string' },
      seed: { type: 'string' },
      first: { type: 'string' },
      duration: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run chaos -- [--seeds N] [--first K] [--seed K] [--duration SECONDS] [--verbose]\n',
    );
    process.exit(0);
  }
  const integer = (name: string, raw: string | undefined, fallback: number, min: number) => {
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min)
      throw new Error(`--${name} must be an integer of at least ${min} (got ${raw})`);
    return value;
  };
  const durationS = integer('duration', values.duration, 15, 8);
  if (values.seed !== undefined) {
    return {
      seeds: [integer('seed', values.seed, 1, 0)],
      durationMs: durationS * 1_000,
      verbose: values.verbose === true,
    };
  }
  const count = integer('seeds', values.seeds, 5, 1);
  const first = integer('first', values.first, 1, 0);
  return {
    seeds: Array.from({ length: count }, (_, i) => first + i),
    durationMs: durationS * 1_000,
    verbose: values.verbose === true,
  };
}

async function main(): Promise<void> {
  const { seeds, durationMs, verbose } = parse();
  const redis = await startRedis();
  const runs: RunResult[] = [];
  try {
    for (const seed of seeds) {
      const run = await runChaos(makePlan(seed, durationMs), redis);
      runs.push(run);
      process.stdout.write(`${describeRun(run)}\n`);
      if (verbose) process.stdout.write(`  ${describeChecks(run)}\n`);
      if (!held(run)) process.stdout.write(`${describeFailure(run)}\n`);
    }
  } finally {
    await redis.stop();
  }
  process.stdout.write(`${describeSummary(runs)}\n`);
  if (!runs.every(held)) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 2;
});
