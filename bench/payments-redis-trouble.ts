/**
 * Redis trouble, as the payments service lives it: payments sent straight to
 * the three replicas of the compose stack at a steady rate while its Redis
 * is healthy, paused (connections open, nothing answers), back, stopped and
 * started again. Payments keeps its records in Redis, so unlike the breaker
 * it cannot work without it: the question is how fast and how clearly it
 * fails, and how soon it recovers.
 *
 *   npm run bench:redis-trouble      (runs after the breaker-level part; BENCH_PHASE_MS=10000)
 */
import { performance } from 'node:perf_hooks';
import { randomUUID } from 'node:crypto';
import { startStack, type Stack } from '@cb-lab/testing';
import { summarize } from '@cb-lab/load-generator';
import { describeMachine } from './machine';
import { writeSection } from './report';
import { log, runBenchmark } from './run';
import { BENCH_SERVICES, stackRedisVersion } from './stack-bench';

const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 10_000);
const RATE = 50;
const CLIENT_TIMEOUT_MS = 10_000;

interface Answer {
  phase: string;
  ms: number;
  /** The HTTP status, or `no answer` when the connection failed or the client gave up. */
  status: number | 'no answer';
  /** The error code of the answer's body, when it is an error. */
  code?: string;
}

async function pay(url: string): Promise<Omit<Answer, 'phase'>> {
  const started = performance.now();
  const key = randomUUID();
  try {
    const response = await fetch(`${url}/payments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify({ orderId: key, amount: 1999, currency: 'EUR' }),
      signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
    });
    const body = (await response.json().catch(() => ({}))) as { error?: string };
    return {
      ms: performance.now() - started,
      status: response.status,
      ...(body.error === undefined ? {} : { code: body.error }),
    };
  } catch {
    return { ms: performance.now() - started, status: 'no answer' };
  }
}

async function main(): Promise<void> {
  log('starting the stack…');
  const stack: Stack = await startStack({ services: BENCH_SERVICES });
  const answers: Answer[] = [];
  let phase = 'healthy';
  let machine: string;
  try {
    machine = describeMachine(await stackRedisVersion(stack));
    log(`Payments while Redis is in trouble, ${RATE} payments/s, on ${machine}`);
    const replicas = Object.values(stack.payments);
    const redis = stack.container('redis-1');
    const control = { stopped: false };
    const load = (async () => {
      const inFlight = new Set<Promise<void>>();
      const started = performance.now();
      for (let n = 0; !control.stopped; n += 1) {
        const wait = (n * 1_000) / RATE - (performance.now() - started);
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        const current = phase;
        const call = pay(replicas[n % replicas.length] ?? '').then((answer) => {
          answers.push({ phase: current, ...answer });
        });
        inFlight.add(call);
        void call.finally(() => inFlight.delete(call));
      }
      await Promise.all(inFlight);
    })();
    const phases: [string, () => Promise<void>][] = [
      ['healthy', () => Promise.resolve()],
      ['Redis paused', () => redis.pause()],
      ['Redis back', () => redis.unpause()],
      ['Redis stopped', () => redis.kill()],
      ['Redis started again', () => redis.start()],
    ];
    try {
      for (const [name, enter] of phases) {
        // A phase starts with its change: the time docker takes to apply it counts in it.
        phase = name;
        await enter();
        log(`${name} for ${PHASE_MS / 1_000} s…`);
        await new Promise((resolve) => setTimeout(resolve, PHASE_MS));
      }
    } finally {
      control.stopped = true;
      await load;
    }
  } finally {
    await stack.down();
  }

  const rows = [...new Set(answers.map((a) => a.phase))].map((name) => {
    const mine = answers.filter((a) => a.phase === name);
    const latency = summarize(mine.map((a) => a.ms));
    const ok = mine.filter((a) => typeof a.status === 'number' && a.status < 300).length;
    const errors = new Map<string, number>();
    for (const answer of mine.filter((a) => !(typeof a.status === 'number' && a.status < 300))) {
      const kind = `${answer.status} ${answer.code ?? ''}`.trim();
      errors.set(kind, (errors.get(kind) ?? 0) + 1);
    }
    const errorCell = [...errors].map(([kind, n]) => `${n} × ${kind}`).join(', ') || '–';
    return `| ${name} | ${mine.length} | ${ok} | ${errorCell} | ${latency.p50.toFixed(1)} | ${latency.p99.toFixed(0)} | ${latency.max.toFixed(0)} |`;
  });
  const table = [
    '| phase | payments | approved (2xx) | errors (status and code) | p50 ms | p99 ms | max ms |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: |',
    ...rows,
  ].join('\n');
  log(`\n${table}`);
  await writeSection(
    'payments-redis-trouble',
    [
      `Measured ${new Date().toISOString().slice(0, 10)} on ${machine}: ${RATE} payments/s sent round robin to the 3 payments replicas of the compose stack (each with a new Idempotency-Key), ${PHASE_MS / 1_000} s per phase; Redis paused with \`docker pause\`, stopped with \`docker kill\` and started again with its data (append-only file). The client gives up after ${CLIENT_TIMEOUT_MS / 1_000} s.`,
      '',
      table,
    ].join('\n'),
  );
}

runBenchmark('bench:payments-redis-trouble', main);
