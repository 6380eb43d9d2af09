export { breakerKeys, type BreakerKeys } from './breaker-keys';
export type {
  ConsecutiveFailures,
  ConsecutiveTrip,
  FailureRate,
  OpenSettings,
  QuorumVote,
  RateTrip,
  ResolvedOptions,
  SharedCircuitBreakerOptions,
  TripSettings,
} from './breaker-options';
export {
  BREAKER_STATES,
  compareWritten,
  isStale,
  parseScriptReply,
  parseSharedState,
  parseStateMessage,
  type BreakerStateName,
  type ScriptReply,
  type SharedBreakerState,
  type StateMessage,
  type Term,
} from './breaker-state';
export {
  isStoreMisconfigured,
  StoreMisconfiguredError,
  type BreakerStore,
  type BucketCounts,
  type ChannelSubscription,
  type OutcomeRun,
  type ProbeRelease,
} from './breaker-store';
export { MemoryBreakerStore, type MemoryBreakerStoreOptions } from './memory-breaker-store';
export {
  RECONNECT_MAX_MS,
  RedisBreakerStore,
  redisClientFor,
  type BreakerStoreOptions,
  type RedisConnection,
  type RedisTopology,
  type SentinelConnection,
} from './redis-breaker-store';
export type { BreakerContext, CallJudge, CallOutcome } from './judged-call';
export {
  LocalBreaker,
  type LocalBreakerOptions,
  type LocalStart,
  type LocalTransition,
} from './local-breaker';
export { monotonicNow } from './redis-clock';
export { isAnyFailure, isHttpDependencyFailure, isUnavailableStatus } from './failure-classifier';
export { ConsecutiveStrategy } from './consecutive-strategy';
export { RateStrategy } from './rate-strategy';
export type { TripCounter, TripReporter, TripReporting, TripStrategy } from './trip-strategy';
export { isTransitionReason, TRANSITION_REASONS, type TransitionReason } from './transition-reason';
export { RedisScript, type RedisScriptFlag } from './redis-script';
export { isTaskCancelled } from './task-cancelled';
export {
  SharedCircuitBreaker,
  type BreakerCall,
  type BreakerCallOutcome,
  type BreakerSnapshot,
  type BreakerTransition,
  type Protected,
  type StoreChange,
  type StoreSwitch,
  type TransitionScope,
} from './shared-circuit-breaker';
