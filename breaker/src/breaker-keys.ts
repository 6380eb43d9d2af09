/**
 * Redis names of one breaker. Every key shares the hash tag `{cb:NAME}`, so
 * they live in one slot and the scripts that touch several of them run on
 * Redis Cluster too.
 */
export interface BreakerKeys {
  /** Hash: the shared state. */
  readonly state: string;
  /** Hash: per-bucket success and failure counts of the sliding window (rate mode). */
  readonly window: string;
  /** String with a TTL: the token of the caller holding the half-open probe lease. */
  readonly probe: string;
  /** Sorted set: each replica whose own breaker tripped, by the Redis time of its last vote (quorum option). */
  readonly voters: string;
  /** Pub/sub channel on which every change is announced. */
  readonly channel: string;
}

const VALID_NAME = /^[\w.:-]{1,100}$/;

export function breakerKeys(name: string, namespace = ''): BreakerKeys {
  if (!VALID_NAME.test(name)) {
    throw new RangeError(
      `breaker name must be 1-100 letters, digits or . _ : - (got ${JSON.stringify(name)})`,
    );
  }
  const tag = `${namespace}{cb:${name}}`;
  return {
    state: `${tag}:state`,
    window: `${tag}:window`,
    probe: `${tag}:probe`,
    voters: `${tag}:voters`,
    channel: `${tag}:events`,
  };
}
