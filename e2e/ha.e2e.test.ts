import { failoverSuite } from './ha-failover';

/*
 * The lab on Redis Sentinel (docker-compose.sentinel.yml): the primary killed
 * under load. One fault, to keep npm test's time; `npm run test:ha` also runs
 * the cluster variant.
 */

jest.setTimeout(15 * 60_000);

describe('the lab on Redis Sentinel', () => {
  // Replicas name the primary by address: before any failover it is the base `redis`.
  failoverSuite({
    topology: 'sentinel',
    override: 'docker-compose.sentinel.yml',
    container: () => 'redis-1',
  });
});
