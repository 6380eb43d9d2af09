import { PassThrough } from 'node:stream';
import {
  createLogger,
  createMetrics,
  startServer,
  type AppContext,
  type Lifecycle,
  type Logger,
  type RunningServer,
} from '@cb-lab/shared';
import type { Express } from 'express';

/** A logger whose JSON lines a test can read back. */
export interface CapturedLogger {
  logger: Logger;
  lines(): Record<string, unknown>[];
}

export function captureLogger(service = 'test', instance = 'test-1'): CapturedLogger {
  const stream = new PassThrough();
  const captured: string[] = [];
  stream.on('data', (chunk: Buffer) =>
    captured.push(...chunk.toString('utf8').split('\n').filter(Boolean)),
  );
  return {
    logger: createLogger({ service, instance, level: 'debug', stream }),
    lines: () => captured.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

/** Everything a service's `createApp` needs, with a fresh registry and a captured logger. */
export function testContext<C extends { INSTANCE: string }>(
  service: string,
  config: C,
): AppContext<C> & { log: CapturedLogger } {
  const log = captureLogger(service, config.INSTANCE);
  return {
    config,
    logger: log.logger,
    metrics: createMetrics({ service, instance: config.INSTANCE }),
    log,
  };
}

/** Serves `app` on a free loopback port (or the given host and port); stop it with `stop()`. */
export function serve(
  app: Express,
  {
    logger = captureLogger().logger,
    lifecycle,
    host = '127.0.0.1',
    port = 0,
  }: { logger?: Logger; lifecycle?: Lifecycle; host?: string; port?: number } = {},
): Promise<RunningServer> {
  return startServer(app, {
    port,
    host,
    shutdownTimeoutMs: 2_000,
    logger,
    ...(lifecycle ? { lifecycle } : {}),
  });
}
