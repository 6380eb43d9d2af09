export { captureLogger, serve, testContext, type CapturedLogger } from './context';
export { watchEventLoop, type EventLoopWatch } from './event-loop';
export { images } from './images';
export { LatencyProxy } from './latency-proxy';
export { parseSamples, sampleValue, type Sample } from '@cb-lab/shared';
export { startRedis, type TestRedis } from './redis';
export { expireFiller, FILLER_PREFIX, fillPastMemoryLimit, memoryState } from './redis-memory';
export { startRedisCluster, type TestRedisCluster } from './redis-cluster';
export { startRedisSentinel, type TestRedisSentinel } from './redis-sentinel';
export { Teardown } from './teardown';
export { waitFor } from './wait-for';
export { freePortRange } from './ports';
export {
  COMPOSE_BREAKER_OPEN_MS,
  PAYMENTS_REPLICAS,
  STACK_CONTAINERS,
  STACK_SERVICES,
  startStack,
  type CircuitView,
  type Stack,
  type StackContainer,
  type StackOptions,
  type StackService,
} from './stack';
export {
  awkwardId,
  badAdminTokens,
  badIdempotencyKeys,
  badJsonBodies,
  badMoneyFields,
  encodings,
  expectError,
  expectLive,
  expectOnly2xxOr4xx,
  fieldValue,
  json,
  notAnObject,
  overLimit,
  plausible,
  plausibleMoney,
  randomRequest,
  raw,
  refusalCheck,
  sender,
  type BodyShape,
  type Refusal,
  type Sent,
} from './bad-input';
