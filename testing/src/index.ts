export { captureLogger, serve, testContext, type CapturedLogger } from './context';
export { images } from './images';
export { LatencyProxy } from './latency-proxy';
export { parseSamples, sampleValue, type Sample } from '@cb-lab/shared';
export { startRedis, type TestRedis } from './redis';
export { Teardown } from './teardown';
export { waitFor } from './wait-for';
