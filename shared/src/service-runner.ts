import type { Express } from 'express';
import type { z } from 'zod';
import { isConfigError, loadConfig, type ServiceConfig } from './config';
import { installCrashPolicy } from './crash-policy';
import { Lifecycle } from './lifecycle';
import { createLogger, type Logger } from './logger';
import { createMetrics, type ServiceMetrics } from './metrics';
import { startServer, type RunningServer } from './server';

/** What a service's `createApp` needs; tests build one with a fresh registry and a test logger. */
export interface AppContext<C> {
  config: C;
  logger: Logger;
  metrics: ServiceMetrics;
  lifecycle?: Lifecycle;
}

export interface ServiceContext<C> extends AppContext<C> {
  lifecycle: Lifecycle;
  /** Registers cleanup run after the HTTP server has drained (close Redis, stop timers), last registered first. */
  onShutdown: (close: () => Promise<unknown>) => void;
}

export interface RunServiceOptions<S extends z.ZodObject> {
  service: string;
  configSchema: S;
  build: (context: ServiceContext<z.output<S>>) => Promise<Express> | Express;
}

/**
 * What every service's `main.ts` does: validate the environment (exiting
 * with a clear message if it is wrong), install the crash policy, build the
 * app, listen, and on SIGTERM or SIGINT drain in-flight requests before
 * closing dependencies.
 */
export async function runService<S extends z.ZodObject>({
  service,
  configSchema,
  build,
}: RunServiceOptions<S>): Promise<RunningServer> {
  let config: z.output<S> & ServiceConfig;
  try {
    config = loadConfig(configSchema) as z.output<S> & ServiceConfig;
  } catch (error) {
    if (!isConfigError(error)) throw error;
    process.stderr.write(`${service}: ${error.message}\n`);
    process.exit(1);
  }
  const logger = createLogger({ service, instance: config.INSTANCE, level: config.LOG_LEVEL });
  installCrashPolicy(logger);

  const metrics = createMetrics({ service, instance: config.INSTANCE });
  const lifecycle = new Lifecycle();
  const cleanups: (() => Promise<unknown>)[] = [];
  const app = await build({
    config,
    logger,
    metrics,
    lifecycle,
    onShutdown: (close) => cleanups.unshift(close),
  });
  const server = await startServer(app, {
    port: config.PORT,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    logger,
    lifecycle,
  });
  logger.info('listening', { port: server.port });

  const shutdown = (signal: NodeJS.Signals): void => {
    logger.info('shutting down', { signal });
    void (async () => {
      await server.stop();
      for (const close of cleanups) await close();
      logger.info('stopped');
      process.exit(0);
    })().catch((error: unknown) => {
      logger.error('shutdown failed', { error });
      process.exit(1);
    });
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  return server;
}
