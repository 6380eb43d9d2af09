export { requireAdminToken } from './admin-auth';
export { createServiceApp, type ServiceAppOptions } from './app';
export {
  adminTokenSchema,
  ConfigError,
  DEFAULT_RECORD_RETENTION_HOURS,
  env,
  isConfigError,
  loadConfig,
  recordRetentionShape,
  serviceConfigSchema,
  serviceConfigShape,
  type ServiceConfig,
} from './config';
export {
  callFailureOf,
  isUnavailableStatus,
  mayHaveActed,
  neverDelivered,
  type CallFailure,
} from './call-failures';
export { createHttpClient, type HttpClientOptions } from './http-client';
export { errorHandler, HttpError, isHttpError, notFound, notFoundHandler } from './http-errors';
export { installCrashPolicy, type CrashableProcess } from './crash-policy';
export { Lifecycle } from './lifecycle';
export { createLogger, type Logger, type LoggerOptions } from './logger';
export {
  createMetrics,
  httpMetrics,
  LATENCY_BUCKETS_SECONDS,
  routeTemplate,
  UNMATCHED_ROUTE,
  type ServiceMetrics,
} from './metrics';
export {
  IDEMPOTENCY_KEY_HEADER,
  idempotencyKeyOf,
  idempotencyKeyReused,
  idempotencyKeySchema,
} from './idempotency-key';
export { PeriodicTask, type PeriodicTaskOptions } from './periodic-task';
export { parseSamples, sampleValue, type Sample } from './prometheus-text';
export { checkReadiness, type ReadinessCheck, type ReadinessReport } from './readiness';
export { RecordStore, type RecordStoreOptions, type StatusRecord } from './record-store';
export {
  connectRedis,
  createRedisClient,
  redisReadiness,
  type RedisClient,
  type RedisClientOptions,
} from './redis';
export {
  checkRedisTopology,
  DEFAULT_REDIS_URL,
  redisConfigShape,
  redisConnectionOf,
  type RedisConfig,
} from './redis-config';
export { isRedisFull, isRedisUnavailable } from './redis-errors';
export {
  currentRequestId,
  newRequestId,
  REQUEST_ID_HEADER,
  requestContext,
  runWithRequestId,
  type RequestContext,
} from './request-context';
export { startServer, type RunningServer, type StartServerOptions } from './server';
export {
  runService,
  type AppContext,
  type RunServiceOptions,
  type ServiceContext,
} from './service-runner';
export { parseInput } from './validation';
export { QueueWorker, type QueueWorkerOptions, type WorkResult } from './queue-worker';
export { DurableWorkQueue, workQueueKeys, type WorkQueueKeys } from './work-queue';
