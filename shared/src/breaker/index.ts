export { breakerKeys, type BreakerKeys } from './breaker-keys';
export type {
  ConsecutiveFailures,
  FailureRate,
  SharedCircuitBreakerOptions,
} from './breaker-options';
export {
  BREAKER_STATES,
  compareWritten,
  isStale,
  parseSharedState,
  type BreakerStateName,
  type ScriptReply,
  type SharedBreakerState,
  type StateMessage,
} from './breaker-state';
export {
  RECONNECT_MAX_MS,
  RedisBreakerStore,
  type BreakerStoreOptions,
  type BucketCounts,
  type ChannelSubscription,
  type OutcomeRun,
  type ProbeRelease,
} from './breaker-store';
export type { BreakerContext, CallOutcome } from './judged-call';
export {
  LocalBreaker,
  type LocalBreakerOptions,
  type LocalStart,
  type LocalTransition,
} from './local-breaker';
export { monotonicNow } from './redis-clock';
export { instrumentBreaker } from './breaker-metrics';
export { isDependencyFailure } from './failure-classifier';
export { isTaskCancelled } from './task-cancelled';
export {
  SharedCircuitBreaker,
  type BreakerCall,
  type BreakerCallOutcome,
  type BreakerSnapshot,
  type BreakerTransition,
  type StoreChange,
  type TransitionScope,
} from './shared-circuit-breaker';
