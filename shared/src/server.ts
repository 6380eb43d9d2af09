import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Lifecycle } from './lifecycle';
import type { Logger } from './logger';

export interface RunningServer {
  /** Base URL on which the server listens, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /**
   * Stops accepting connections, lets in-flight requests finish for up to
   * `shutdownTimeoutMs`, then cuts whatever is left.
   */
  stop(): Promise<void>;
}

export interface StartServerOptions {
  /** 0 picks a free port (what tests use). */
  port: number;
  host?: string;
  shutdownTimeoutMs: number;
  logger: Logger;
  lifecycle?: Lifecycle;
}

export async function startServer(
  app: Express,
  { port, host = '0.0.0.0', shutdownTimeoutMs, logger, lifecycle }: StartServerOptions,
): Promise<RunningServer> {
  const server: Server = app.listen(port, host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= drain(server, shutdownTimeoutMs, logger, lifecycle);
    return stopping;
  };
  return { url, port: address.port, stop };
}

async function drain(
  server: Server,
  timeoutMs: number,
  logger: Logger,
  lifecycle?: Lifecycle,
): Promise<void> {
  lifecycle?.markStopping();
  const closed = new Promise<void>((resolve) =>
    server.close(() => {
      resolve();
    }),
  );
  // Keep-alive sockets that go idle after close() would hold the server open.
  const reaper = setInterval(() => {
    server.closeIdleConnections();
  }, 100);
  const deadline = new Promise<'timeout'>((resolve) =>
    setTimeout(() => {
      resolve('timeout');
    }, timeoutMs).unref(),
  );
  try {
    server.closeIdleConnections();
    if ((await Promise.race([closed, deadline])) === 'timeout') {
      logger.warn('in-flight requests did not finish in time; closing their connections', {
        timeoutMs,
      });
      server.closeAllConnections();
      await closed;
    }
  } finally {
    clearInterval(reaper);
  }
}
