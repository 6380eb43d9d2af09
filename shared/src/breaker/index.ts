export { breakerKeys, type BreakerKeys } from './breaker-keys';
export type {
  ConsecutiveFailures,
  FailureRate,
  SharedCircuitBreakerOptions,
} from './breaker-options';
export { BREAKER_STATES, type BreakerStateName, type SharedBreakerState } from './breaker-state';
export { RedisBreakerStore, type BreakerStoreOptions } from './breaker-store';
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
} from './shared-circuit-breaker';
