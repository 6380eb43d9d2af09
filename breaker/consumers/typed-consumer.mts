// A TypeScript service (ES module output) using the installed package; it must type-check
// under `strict` before it runs.
import { setTimeout as sleep } from 'node:timers/promises';
import { BrokenCircuitError } from 'cockatiel';
import {
  RedisBreakerStore,
  SharedCircuitBreaker,
  isHttpDependencyFailure,
  type BreakerStateName,
  type BreakerTransition,
  type SharedCircuitBreakerOptions,
} from '@cb-lab/shared-breaker';
import { instrumentBreaker } from '@cb-lab/shared-breaker/prometheus';
import { Registry } from 'prom-client';

const options: SharedCircuitBreakerOptions = {
  name: `consumer-ts-${process.pid}`,
  trip: { mode: 'consecutive', threshold: 2 },
  openMs: 200,
  isFailure: isHttpDependencyFailure,
};
const store = new RedisBreakerStore(process.env['REDIS_URL'] ?? 'redis://localhost:6379');
const breaker = new SharedCircuitBreaker(store, options);
const registry = new Registry();
instrumentBreaker(breaker, registry);
const transitions: BreakerTransition[] = [];
breaker.onTransition((transition) => transitions.push(transition));
await breaker.start();

const status = (code: number) => Object.assign(new Error(`HTTP ${code}`), { status: code });
const seen: string[] = [];
// A 404 is an answer, not a failure; two 503s in a row open the breaker.
for (const code of [404, 503, 503, 200]) {
  try {
    await breaker.execute(() => (code === 200 ? 'ok' : Promise.reject(status(code))));
    seen.push('ok');
  } catch (error: unknown) {
    seen.push(error instanceof BrokenCircuitError ? 'rejected' : `failed ${code}`);
  }
  await breaker.flush();
}
const opened: BreakerStateName = breaker.state;
await sleep(300);
const answer: string = await breaker.execute(({ probe }) => (probe ? 'probe ok' : 'ok'));
await breaker.flush();
console.log(
  JSON.stringify({
    style: 'typescript',
    node: process.versions.node,
    seen,
    opened,
    answer,
    closed: breaker.state,
    shared: (await breaker.readShared()).state,
    transitions: transitions.map(({ from, to }) => `${from}>${to}`),
    metrics: (await registry.metrics()).includes('circuit_breaker_transitions_total{'),
  }),
);
breaker.dispose();
await store.close();
