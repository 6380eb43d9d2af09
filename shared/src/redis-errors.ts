/**
 * The messages and names ioredis gives errors that mean "Redis did not
 * answer": a command that ran out of time, a command issued while the
 * connection is down (the offline queue is off), a connection closed under
 * a command, and a command that gave up after its reconnection attempts.
 */
const UNAVAILABLE_MESSAGES = new Set([
  'Command timed out',
  "Stream isn't writeable and enableOfflineQueue options is false",
  "Cluster isn't ready and enableOfflineQueue options is false",
  'Connection is closed.',
]);

/**
 * Replies of a server that cannot serve now, as during a failover: a cluster
 * that lost a primary (`CLUSTERDOWN`, `TRYAGAIN`), a primary demoted to a
 * replica under the connection (`READONLY`), a server still loading its data
 * (`LOADING`), a replica whose primary is gone (`MASTERDOWN`); or one in
 * trouble of its own: busy with a script (`BUSY`), out of memory (`OOM`),
 * unable to persist (`MISCONF`) or without the replicas it needs (`NOREPLICAS`).
 */
const UNAVAILABLE_REPLY =
  /^(CLUSTERDOWN|TRYAGAIN|READONLY|LOADING|MASTERDOWN|BUSY|OOM|MISCONF|NOREPLICAS)\b/;

/**
 * The cluster client gives up with this after `maxRedirections` attempts that were all
 * redirected or refused (MOVED to a node that is gone, CLUSTERDOWN, a closed connection): the
 * slots are moving, as in a failover, whatever the last error was.
 */
const CLUSTER_GAVE_UP = 'Too many Cluster redirections.';

const unavailable = (message: string): boolean =>
  UNAVAILABLE_MESSAGES.has(message) ||
  UNAVAILABLE_REPLY.test(message) ||
  message.startsWith(CLUSTER_GAVE_UP);

/**
 * Whether `error` is Redis refusing a write for memory: it is over its `maxmemory` and evicts
 * nothing (`noeviction`), so it takes no new records until old ones expire. Redis still
 * answers (reads, deletes, the breaker's scripts), but every such write fails alike, so this is
 * also {@link isRedisUnavailable}.
 */
export const isRedisFull = (error: unknown): error is Error =>
  error instanceof Error && /^OOM\b/.test(error.message);

/** Whether `error` says Redis is away (paused, stopped, failing over), not that a command was wrong. */
export const isRedisUnavailable = (error: unknown): error is Error =>
  error instanceof Error &&
  (unavailable(error.message) || error.name === 'MaxRetriesPerRequestError');
