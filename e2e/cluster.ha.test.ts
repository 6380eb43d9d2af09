import { failoverSuite } from './ha-failover';

/*
 * The lab on a Redis Cluster (docker-compose.cluster.yml): the primary
 * holding the breaker's slot killed under load, its replica taking over.
 * Outside npm test (its time): `npm run test:ha`.
 */

jest.setTimeout(15 * 60_000);

describe('the lab on a Redis Cluster', () => {
  // Cluster nodes announce their service names: `redis-2:6379` is container `redis-2-1`.
  failoverSuite({
    topology: 'cluster',
    override: 'docker-compose.cluster.yml',
    oneShot: ['redis-cluster-init-1'],
    container: (server) => `${server.split(':')[0] ?? ''}-1`,
  });
});
