// The hash-slot function ioredis routes Cluster commands with; the package ships no types.
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot of a key (of its `{hash tag}`, when it has one). */
  function calculateSlot(key: string | Buffer): number;
  export = calculateSlot;
}
