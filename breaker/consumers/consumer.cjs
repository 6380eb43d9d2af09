// A CommonJS service using the installed package: breaks and closes a breaker on a real Redis.
const { setTimeout: sleep } = require('node:timers/promises');
const { BrokenCircuitError } = require('cockatiel');
const { Registry } = require('prom-client');
const { RedisBreakerStore, SharedCircuitBreaker } = require('@cb-lab/shared-breaker');
const { instrumentBreaker } = require('@cb-lab/shared-breaker/prometheus');

async function main() {
  const store = new RedisBreakerStore(process.env.REDIS_URL);
  const breaker = new SharedCircuitBreaker(store, {
    name: `consumer-cjs-${process.pid}`,
    trip: { mode: 'consecutive', threshold: 2 },
    openMs: 200,
  });
  const registry = new Registry();
  instrumentBreaker(breaker, registry);
  await breaker.start();
  const seen = [];
  for (let i = 0; i < 3; i += 1) {
    try {
      await breaker.execute(() => Promise.reject(new Error('the dependency fails')));
    } catch (error) {
      seen.push(error instanceof BrokenCircuitError ? 'rejected' : 'failed');
    }
    await breaker.flush();
  }
  const opened = breaker.state;
  await sleep(300);
  await breaker.execute(() => 'ok');
  await breaker.flush();
  const metrics = await registry.metrics();
  console.log(
    JSON.stringify({
      style: 'commonjs',
      node: process.versions.node,
      seen,
      opened,
      closed: breaker.state,
      shared: (await breaker.readShared()).state,
      metrics: metrics.includes('circuit_breaker_state{breaker="consumer-cjs-'),
    }),
  );
  breaker.dispose();
  await store.close();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
