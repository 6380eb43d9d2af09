/**
 * Replica faults: the questions of one bad replica and of a hang, on the
 * compose stack. Six stacks alike but for the breaker (none, one per
 * replica, the shared one, the shared one with a quorum of 2, and the shared
 * one in rate mode without and with the quorum), each under
 * (a) the gateway failing every caller's charges and (b) only one replica's
 * charges failing: calls that reached the broken path, healthy orders
 * refused by an open nobody needed, time to open, time to close. Then the
 * gateway hanging, on the shared breaker without and with in-flight
 * detection of slow calls: orders that waited the full gateway timeout.
 *
 *   npm run bench:replica-faults    (BENCH_RATE=20 orders/s, BENCH_FAULT_MS=15000)
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { sampleValue } from '@cb-lab/shared';
import { runLoad, type OrderSample } from '@cb-lab/load-generator';
import { COMPOSE_BREAKER_OPEN_MS, startStack, type CircuitView, type Stack } from '@cb-lab/testing';
import { renderBarChart } from './chart';
import { describeMachine } from './machine';
import { writeChart, writeSection } from './report';
import { log, runBenchmark } from './run';
import { BENCH_SERVICES, loadSamples, stackRedisVersion } from './stack-bench';

const RATE = Number(process.env.BENCH_RATE ?? 20);
const FAULT_MS = Number(process.env.BENCH_FAULT_MS ?? 15_000);
/** Healthy orders before each fault, and the longest wait for every replica to close after it. */
const LEAD_MS = 2_000;
const RECOVERY_MS = COMPOSE_BREAKER_OPEN_MS + 5_000;
/** Shorter than the open period, so no probe falls inside it: what is counted is the onset. */
const HANG_MS = 8_000;
/** docker-compose.yml's settings for payments. */
const GATEWAY_TIMEOUT_MS = 1_000;
const THRESHOLD = 5;
/** In-flight detection counts a call slow this long after it started. */
const SLOW_CALL_MS = 200;
const POLL_MS = 100;

/**
 * Rate mode with a threshold below one replica's share of the calls: there,
 * one replica's failures alone can open the shared breaker.
 */
const RATE_MODE = { BREAKER_MODE: 'rate', BREAKER_FAILURE_RATE: '0.2' };

interface Subject {
  name: string;
  color: string;
  environment: Record<string, string>;
}

const SUBJECTS: readonly Subject[] = [
  { name: 'no breaker', color: '#c62828', environment: { BREAKER_ENABLED: 'false' } },
  { name: 'per-replica breakers', color: '#ef6c00', environment: { BREAKER_SCOPE: 'replica' } },
  { name: 'shared breaker', color: '#1565c0', environment: {} },
  { name: 'shared breaker, quorum 2', color: '#2e7d32', environment: { BREAKER_QUORUM: '2' } },
  { name: 'shared breaker, rate 20 %', color: '#00838f', environment: RATE_MODE },
  {
    name: 'shared breaker, rate 20 %, quorum 2',
    color: '#9e9d24',
    environment: { ...RATE_MODE, BREAKER_QUORUM: '2' },
  },
];

const IN_FLIGHT: Subject = {
  name: 'shared breaker, in-flight detection',
  color: '#6a1b9a',
  environment: {
    BREAKER_SLOW_CALL_MS: String(SLOW_CALL_MS),
    BREAKER_SLOW_CALLS_IN_FLIGHT: 'true',
  },
};

interface Scenario {
  name: string;
  faults(poisoned: string): Record<string, unknown>;
  /** Whether a replica's path to the gateway is broken in this scenario. */
  broken(replica: string, poisoned: string): boolean;
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: '(a) gateway failing for every caller',
    faults: () => ({ errorRate: 1 }),
    broken: () => true,
  },
  {
    name: '(b) one replica’s calls failing',
    faults: (poisoned) => ({ errorRate: 1, scope: { replicas: [poisoned] } }),
    broken: (replica, poisoned) => replica === poisoned,
  },
];

type Views = Record<string, CircuitView | undefined>;

interface ScenarioRun {
  /** Charges the gateway failed on purpose: calls that reached the broken path. */
  reachedBroken: number;
  /** Calls refused by the breaker on replicas whose path was healthy. */
  refusedHealthy: number;
  /** ms from the fault to every broken replica refusing; undefined: never, within the fault. */
  openAfterMs: number | undefined;
  /** ms from the heal to every replica closed; undefined: not within RECOVERY_MS. */
  closedAfterMs: number | undefined;
  orders: OrderSample[];
}

interface HangRun {
  orders: OrderSample[];
  /** ms from the hang to every replica refusing; undefined: never, within the hang. */
  openAfterMs: number | undefined;
}

const get = async (url: string): Promise<string> => {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
  return response.text();
};

/** Polls every replica's breaker until `done` holds; the ms it took, or undefined past `budgetMs`. */
async function timeUntil(
  stack: Stack,
  done: (views: Views) => boolean,
  budgetMs: number,
): Promise<number | undefined> {
  const since = performance.now();
  for (;;) {
    if (done(await stack.circuits())) return performance.now() - since;
    if (performance.now() - since > budgetMs) return undefined;
    await sleep(POLL_MS);
  }
}

const allClosed = (views: Views): boolean =>
  Object.values(views).every((view) => view?.state === 'closed');

/** Each replica's id (its INSTANCE, the caller name the gateway hears) by compose name. */
async function replicaIds(stack: Stack): Promise<Record<string, string>> {
  const views = await stack.circuits();
  return Object.fromEntries(
    Object.entries(views).map(([name, view]) => {
      if (view === undefined) throw new Error(`${name} does not answer`);
      return [name, view.replica];
    }),
  );
}

/** Breaker refusals on each replica (by compose name), from its own metrics. */
async function refusals(stack: Stack): Promise<Record<string, number>> {
  const entries = await Promise.all(
    Object.entries(stack.payments).map(async ([name, base]) => {
      const text = await get(`${base}/metrics`);
      const refused = sampleValue(text, 'circuit_breaker_calls_total', { outcome: 'rejected' });
      return [name, refused ?? 0] as const;
    }),
  );
  return Object.fromEntries(entries);
}

const faultedCharges = async (stack: Stack): Promise<number> =>
  sampleValue(await get(`${stack.gateway}/metrics`), 'gateway_charges_total', {
    outcome: 'faulted',
  }) ?? 0;

/** Closes every replica's breaker (each one's own, with per-replica breakers); none to close is fine. */
async function resetBreakers(stack: Stack): Promise<void> {
  for (const base of Object.values(stack.payments)) {
    const response = await fetch(`${base}/payments/circuit/reset`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'benchmark: next scenario' }),
    });
    if (!response.ok && response.status !== 409)
      throw new Error(`reset answered ${response.status}`);
  }
}

async function runScenario(
  stack: Stack,
  scenario: Scenario,
  ids: Record<string, string>,
): Promise<ScenarioRun> {
  const poisoned = ids['payments-1'] ?? '';
  const brokenReplicas = Object.keys(ids).filter((name) =>
    scenario.broken(ids[name] ?? '', poisoned),
  );
  const [faultedBefore, refusedBefore] = [await faultedCharges(stack), await refusals(stack)];
  const load = loadSamples({
    ordersUrl: stack.orders,
    ratePerSecond: RATE,
    durationMs: LEAD_MS + FAULT_MS + RECOVERY_MS,
  });
  await sleep(LEAD_MS);
  await stack.setGatewayFaults(scenario.faults(poisoned));
  const faultAt = performance.now();
  const openAfterMs = await timeUntil(
    stack,
    // A replica that does not answer is not counted as refusing.
    (views) => brokenReplicas.every((name) => (views[name]?.state ?? 'closed') !== 'closed'),
    FAULT_MS,
  );
  await sleep(Math.max(0, FAULT_MS - (performance.now() - faultAt)));
  await stack.setGatewayFaults(null);
  const closedAfterMs = await timeUntil(stack, allClosed, RECOVERY_MS);
  const samples = await load;
  const [faultedAfter, refusedAfter] = [await faultedCharges(stack), await refusals(stack)];
  if (closedAfterMs === undefined) await resetBreakers(stack);
  const refusedHealthy = Object.keys(ids)
    .filter((name) => !brokenReplicas.includes(name))
    .reduce((sum, name) => sum + (refusedAfter[name] ?? 0) - (refusedBefore[name] ?? 0), 0);
  return {
    reachedBroken: faultedAfter - faultedBefore,
    refusedHealthy,
    openAfterMs,
    closedAfterMs,
    orders: samples,
  };
}

/** The gateway holds every charge unanswered for HANG_MS; payments gives up after its timeout. */
async function runHang(stack: Stack): Promise<HangRun> {
  const load = loadSamples({
    ordersUrl: stack.orders,
    ratePerSecond: RATE,
    durationMs: LEAD_MS + HANG_MS,
  });
  await sleep(LEAD_MS);
  await stack.setGatewayFaults({ timeoutRate: 1 });
  const openAfterMs = await timeUntil(
    stack,
    (views) => Object.values(views).every((view) => view?.state === 'open'),
    HANG_MS,
  );
  const samples = await load;
  await stack.setGatewayFaults(null);
  return { orders: samples, openAfterMs };
}

async function withStack<T>(subject: Subject, run: (stack: Stack) => Promise<T>): Promise<T> {
  log(`${subject.name}: starting its stack…`);
  const stack = await startStack({ services: BENCH_SERVICES, environment: subject.environment });
  try {
    // Warm connections, and let the gateway hear every replica before a fault names one.
    await runLoad({ ordersUrl: stack.orders, ratePerSecond: RATE, durationMs: 3_000 });
    return await run(stack);
  } finally {
    await stack.down();
  }
}

const seconds = (ms: number | undefined): string =>
  ms === undefined ? 'never' : `${(ms / 1_000).toFixed(1)} s`;

const notPaid = (orders: readonly OrderSample[]): number =>
  orders.filter((o) => o.outcome !== 'paid').length;

/** Orders that waited the whole gateway timeout: their charge was sent into the hang. */
const waitedFullTimeout = (orders: readonly OrderSample[]): number =>
  orders.filter((o) => o.latencyMs >= GATEWAY_TIMEOUT_MS).length;

async function main(): Promise<void> {
  const runs = new Map<string, ScenarioRun[]>();
  const hangs = new Map<string, HangRun>();
  let machine = describeMachine();
  for (const subject of SUBJECTS) {
    await withStack(subject, async (stack) => {
      machine = describeMachine(await stackRedisVersion(stack));
      const ids = await replicaIds(stack);
      const results: ScenarioRun[] = [];
      for (const scenario of SCENARIOS) {
        log(`${subject.name}: ${scenario.name}, ${FAULT_MS / 1_000} s…`);
        const run = await runScenario(stack, scenario, ids);
        log(
          `  reached the broken path ${run.reachedBroken}, healthy refused ${run.refusedHealthy}, open after ${seconds(run.openAfterMs)}, closed ${seconds(run.closedAfterMs)} after the heal`,
        );
        results.push(run);
      }
      runs.set(subject.name, results);
      if (subject.name === 'shared breaker') {
        log(`${subject.name}: the gateway hanging, ${HANG_MS / 1_000} s…`);
        hangs.set(subject.name, await runHang(stack));
      }
    });
  }
  await withStack(IN_FLIGHT, async (stack) => {
    log(`${IN_FLIGHT.name}: the gateway hanging, ${HANG_MS / 1_000} s…`);
    hangs.set(IN_FLIGHT.name, await runHang(stack));
  });

  const rows = SUBJECTS.flatMap((subject) =>
    SCENARIOS.map((scenario, i) => {
      const run = runs.get(subject.name)?.[i];
      if (run === undefined) return '';
      const refused = i === 0 ? '–' : String(run.refusedHealthy);
      // Without a breaker nothing opens or closes: its replicas always report closed.
      const [opened, closed] =
        subject === SUBJECTS[0]
          ? ['–', '–']
          : [
              seconds(run.openAfterMs),
              run.openAfterMs === undefined ? '–' : seconds(run.closedAfterMs),
            ];
      return `| ${subject.name} | ${scenario.name} | ${run.reachedBroken} | ${refused} | ${opened} | ${closed} | ${run.orders.length} | ${notPaid(run.orders)} |`;
    }),
  );
  const table = [
    '| breaker | scenario | calls that reached the broken path | healthy orders refused by an open | time to open | time to close after the heal | orders | not paid |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
  log(`\n${table}`);

  const bound = THRESHOLD + (RATE * SLOW_CALL_MS) / 1_000;
  const hangRows = [SUBJECTS[2], IN_FLIGHT].map((subject) => {
    const hang = subject === undefined ? undefined : hangs.get(subject.name);
    if (subject === undefined || hang === undefined) return '';
    const detection =
      subject === IN_FLIGHT ? `at ${SLOW_CALL_MS} ms in flight` : 'when a call ends';
    return `| ${subject.name} | ${detection} | ${hang.orders.length} | ${waitedFullTimeout(hang.orders)} | ${seconds(hang.openAfterMs)} |`;
  });
  const hangTable = [
    `| breaker | a slow call counts | orders | orders that waited the full ${GATEWAY_TIMEOUT_MS / 1_000} s timeout | time to open on every replica |`,
    '| --- | --- | ---: | ---: | ---: |',
    ...hangRows,
  ].join('\n');
  log(`\n${hangTable}\n(goal with in-flight detection: at most ${bound})`);

  await writeChart(
    'replica-faults',
    renderBarChart({
      title: `One bad replica, or all: ${FAULT_MS / 1_000} s of gateway failures at ${RATE} orders/s`,
      unit: 'calls or orders',
      subjects: SUBJECTS.map((s) => ({ label: s.name, color: s.color })),
      groups: [
        {
          label: '(a) all failing: calls that reached the failure',
          values: SUBJECTS.map((s) => runs.get(s.name)?.[0]?.reachedBroken ?? 0),
        },
        {
          label: '(b) one replica: calls that reached the failure',
          values: SUBJECTS.map((s) => runs.get(s.name)?.[1]?.reachedBroken ?? 0),
        },
        {
          label: '(b) one replica: healthy orders refused',
          values: SUBJECTS.map((s) => runs.get(s.name)?.[1]?.refusedHealthy ?? 0),
        },
      ],
    }),
  );
  await writeSection(
    'replica-faults',
    [
      `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}. Six copies of the compose stack (orders, 3 payments replicas, gateway, Redis), one at a time, alike but for the breaker: \`BREAKER_ENABLED=false\`, \`BREAKER_SCOPE=replica\`, the default (${THRESHOLD} consecutive failures), \`BREAKER_QUORUM=2\`, and rate mode (\`BREAKER_MODE=rate BREAKER_FAILURE_RATE=0.2\`: 20 % of at least 10 calls in a 10 s window) without and with \`BREAKER_QUORUM=2\`; open ${COMPOSE_BREAKER_OPEN_MS / 1_000} s. ${RATE} orders/s on a fixed schedule (after 3 s of warm-up): ${LEAD_MS / 1_000} s healthy, then ${FAULT_MS / 1_000} s with the gateway answering 503 to (a) every caller or (b) only payments-1 (a fault scoped to its \`Caller-Replica\`), then healed for ${RECOVERY_MS / 1_000} s. Calls that reached the broken path are the charges the gateway failed; healthy orders refused are the breaker refusals on the replicas whose path was healthy (in (a) every path is broken, so no open is unneeded). Time to open: until every broken replica refuses; time to close: from the heal until every replica is closed, polled every ${POLL_MS} ms (it includes what was left of the open period).`,
      '',
      table,
      '',
      '![Calls that reached the broken path, and healthy orders refused](replica-faults.svg)',
    ].join('\n'),
  );
  await writeSection(
    'hang-onset',
    [
      `Measured in the same run. The stack with the shared breaker, and one more copy with \`BREAKER_SLOW_CALL_MS=${SLOW_CALL_MS}\` and \`BREAKER_SLOW_CALLS_IN_FLIGHT=true\`: ${RATE} orders/s, ${LEAD_MS / 1_000} s healthy, then ${HANG_MS / 1_000} s with the gateway holding every charge unanswered (\`timeoutRate: 1\`; shorter than the open period, so no probe is counted), which payments gives up on after ${GATEWAY_TIMEOUT_MS} ms. The goal with in-flight detection: at most threshold + rate × slow-call time = ${THRESHOLD} + ${RATE} × ${SLOW_CALL_MS / 1_000} s = ${bound} orders.`,
      '',
      hangTable,
    ].join('\n'),
  );
}

runBenchmark('bench:replica-faults', main);
