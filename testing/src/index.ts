export { captureLogger, serve, testContext, type CapturedLogger } from './context';
export { images } from './images';
export { startRedis, type TestRedis } from './redis';
export { parseSamples, sampleValue, type Sample } from './prometheus-text';
export { Teardown } from './teardown';
