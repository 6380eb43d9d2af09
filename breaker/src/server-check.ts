/** The oldest Redis the breaker's scripts run on: they declare flags (`#!lua flags=…`), new in 7.0. */
export const MIN_REDIS_MAJOR = 7;

/**
 * What is wrong with the Redis server that answered `INFO` (its default
 * sections) for a breaker store, or `undefined` when nothing is. `standalone`:
 * the store was given one server's URL, which must not be a cluster node.
 */
export function serverProblem(info: string, standalone: boolean): string | undefined {
  const version = /^redis_version:(\S+)/m.exec(info)?.[1];
  const major = version === undefined ? NaN : Number.parseInt(version, 10);
  if (major < MIN_REDIS_MAJOR)
    return (
      `the breaker store reached Redis ${version}, and needs Redis ${MIN_REDIS_MAJOR}.0 or later: ` +
      "its scripts declare flags, so that a Redis at its memory limit still runs the breaker's decisions"
    );
  if (standalone && /^cluster_enabled:1/m.test(info))
    return (
      'the breaker store was given a standalone Redis URL that reaches a Redis Cluster node: ' +
      'give the cluster nodes instead ({ clusterNodes: ["host:port", …] }), so that each ' +
      "breaker's scripts are routed to the node holding its slot"
    );
  return undefined;
}
