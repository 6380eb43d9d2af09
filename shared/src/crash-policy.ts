import type { Logger } from './logger';

/** The process a crash policy watches and ends: `process` itself outside tests. */
export interface CrashableProcess {
  on(event: 'uncaughtException', listener: (error: Error) => void): unknown;
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  exit(code: number): void;
}

/**
 * One policy for every service: an uncaught exception or an unhandled
 * promise rejection is a bug whose damage is unknown (a lock held, a
 * half-settled record), so it is logged with its stack and the process exits
 * with status 1 for the orchestrator to restart it. Everything the services
 * keep is durable (Redis) and every step idempotent, so a restart loses
 * nothing. The exit waits `flushMs` so the log line leaves the process.
 */
export function installCrashPolicy(
  logger: Logger,
  { target = process, flushMs = 100 }: { target?: CrashableProcess; flushMs?: number } = {},
): void {
  let crashing = false;
  const crash = (what: string, error: unknown): void => {
    logger.error(`${what}; exiting so the process is restarted`, { error });
    if (crashing) return;
    crashing = true;
    setTimeout(() => {
      target.exit(1);
    }, flushMs);
  };
  target.on('uncaughtException', (error) => {
    crash('uncaught exception', error);
  });
  target.on('unhandledRejection', (reason) => {
    crash('unhandled promise rejection', reason);
  });
}
