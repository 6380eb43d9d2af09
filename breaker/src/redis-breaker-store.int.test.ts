import { startRedis, Teardown, type TestRedis } from '@cb-lab/testing';
import { RedisBreakerStore } from './redis-breaker-store';
import { describeStoreContract } from './store-contract.fixture';

/* The store contract on a real Redis: the scripts decide as the memory store does. */

const teardown = new Teardown();
let redis: TestRedis;

beforeAll(async () => {
  redis = teardown.add(await startRedis(), (r) => r.stop());
});
afterAll(() => teardown.run());

describeStoreContract('Redis', () => new RedisBreakerStore(redis.url));
