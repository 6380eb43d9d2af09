import { isRedisFull, isRedisUnavailable } from './redis-errors';

const named = (name: string, message: string) => Object.assign(new Error(message), { name });

describe('isRedisUnavailable', () => {
  it('takes Redis being away, or failing over, as unavailable', () => {
    for (const message of [
      'Command timed out',
      'Connection is closed.',
      "Stream isn't writeable and enableOfflineQueue options is false",
      "Cluster isn't ready and enableOfflineQueue options is false",
      'CLUSTERDOWN The cluster is down',
      'TRYAGAIN Multiple keys request during rehashing of slot',
      "READONLY You can't write against a read only replica.",
      'LOADING Redis is loading the dataset in memory',
      'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no',
      'BUSY Redis is busy running a script.',
      "OOM command not allowed when used memory > 'maxmemory'.",
      'MISCONF Redis is configured to save RDB snapshots, but it is currently not able to persist',
      'NOREPLICAS Not enough good replicas to write.',
      // As the cluster client reports them during a failover (seen on docker-compose.cluster.yml).
      'Too many Cluster redirections. Last error: Error: Connection is closed.',
      'Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN The cluster is down',
      'Too many Cluster redirections. Last error: ReplyError: MOVED 8507 redis-2:6379',
      'Too many Cluster redirections. Last error: ReplyError: NOSCRIPT No matching script.',
    ])
      expect({ message, unavailable: isRedisUnavailable(new Error(message)) }).toEqual({
        message,
        unavailable: true,
      });
    expect(isRedisUnavailable(named('MaxRetriesPerRequestError', 'Reached the max retries'))).toBe(
      true,
    );
  });

  it('takes a command Redis refused as a bug, not an outage', () => {
    for (const message of [
      'WRONGTYPE Operation against a key holding the wrong kind of value',
      'NOPERM User lab has no permissions to access one of the keys used as arguments',
      "CROSSSLOT Keys in request don't hash to the same slot",
      'ERR unknown command',
    ])
      expect({ message, unavailable: isRedisUnavailable(new Error(message)) }).toEqual({
        message,
        unavailable: false,
      });
    expect(isRedisUnavailable('Command timed out')).toBe(false);
  });
});

describe('isRedisFull', () => {
  it('takes a write refused for memory as Redis full, whether a command or a script was refused', () => {
    expect(isRedisFull(new Error("OOM command not allowed when used memory > 'maxmemory'."))).toBe(
      true,
    );
    expect(
      isRedisFull(
        new Error(
          "OOM command not allowed when used memory > 'maxmemory'. script: 62bc90b1, on @user_script:1.",
        ),
      ),
    ).toBe(true);
  });

  it('takes nothing else as Redis full', () => {
    for (const message of ['Command timed out', 'BUSY Redis is busy running a script.', 'ROOM 3'])
      expect({ message, full: isRedisFull(new Error(message)) }).toEqual({ message, full: false });
  });
});
