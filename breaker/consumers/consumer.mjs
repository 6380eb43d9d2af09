// An ES module service using the installed package: breaks and closes a breaker on a real Redis.
import { setTimeout as sleep } from 'node:timers/promises';
import { BrokenCircuitError } from 'cockatiel';
import { Registry } from 'prom-client';
import { RedisBreakerStore, SharedCircuitBreaker } from '@cb-lab/shared-breaker';
import { instrumentBreaker } from '@cb-lab/shared-breaker/prometheus';

const store = new RedisBreakerStore(process.env.REDIS_URL);
const breaker = new SharedCircuitBreaker(store, {
  name: `consumer-esm-${process.pid}`,
  trip: { mode: 'rate', threshold: 0.5, minCalls: 2, windowMs: 100, buckets: 2 },
  openMs: 200,
});
const registry = new Registry();
instrumentBreaker(breaker, registry);
await breaker.start();
const seen = [];
for (let i = 0; i < 2; i += 1) {
  await breaker
    .execute(() => Promise.reject(new Error('the dependency fails')))
    .catch(() => {
      seen.push('failed');
    });
}
// Rate mode decides as each bucket ends.
for (let waited = 0; breaker.state === 'closed' && waited < 2_000; waited += 10) {
  await breaker.flush();
  await sleep(10);
}
try {
  await breaker.execute(() => 'not run');
} catch (error) {
  seen.push(error instanceof BrokenCircuitError ? 'rejected' : 'failed');
}
const opened = breaker.state;
await sleep(300);
await breaker.execute(() => 'ok');
await breaker.flush();
const metrics = await registry.metrics();
console.log(
  JSON.stringify({
    style: 'esm',
    node: process.versions.node,
    seen,
    opened,
    closed: breaker.state,
    shared: (await breaker.readShared()).state,
    metrics: metrics.includes('circuit_breaker_state{breaker="consumer-esm-'),
  }),
);
breaker.dispose();
await store.close();
