import { startRedis, Teardown, type TestRedis } from '@cb-lab/testing';
import { makePlan } from './plan';
import { describeChecks, describeFailure, describeRun, held } from './report';
import { runChaos } from './run';

/*
 * A few fixed seeds of the chaos run in every `npm test`: five breakers on
 * their own connections to a real Redis, fifteen callers, a dependency that
 * turns healthy, failing, flaky and hanging, and Redis paused, restarted
 * empty, restarted from an older snapshot and rewound in place. `npm run
 * chaos` runs more seeds; a failing seed prints how to replay it.
 */

const SEEDS = [1, 2, 3];
const DURATION_MS = 12_000;

jest.setTimeout(SEEDS.length * 60_000);

const teardown = new Teardown();
let redis: TestRedis;

beforeAll(async () => {
  redis = teardown.add(await startRedis(), (r) => r.stop());
});
afterAll(() => teardown.run());

describe('the shared breaker under chaos', () => {
  it.each(SEEDS)('holds every invariant with seed %i', async (seed) => {
    const run = await runChaos(makePlan(seed, DURATION_MS), redis);
    process.stdout.write(`${describeRun(run)}\n  ${describeChecks(run)}\n`);
    if (!held(run)) throw new Error(describeFailure(run));
    // Each judge had something to judge.
    const checked = Object.fromEntries(run.checks.map((c) => [c.name, c.checked]));
    expect(checked['open means no calls']).toBeGreaterThan(0);
    expect(checked['closes once healthy']).toBeGreaterThan(0);
    expect(checked['one store budget per call']).toBeGreaterThan(0);
  });
});
