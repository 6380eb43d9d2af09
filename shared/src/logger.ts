import winston from 'winston';
import { currentRequestId } from './request-context';

export type Logger = winston.Logger;

export interface LoggerOptions {
  service: string;
  instance: string;
  level?: string;
  /** Where lines go; tests pass their own stream to read what was logged. */
  stream?: NodeJS.WritableStream;
}

const withRequestId = winston.format((info) => {
  const requestId = currentRequestId();
  if (requestId !== undefined && info.requestId === undefined) info.requestId = requestId;
  return info;
});

/** Error objects in a line's fields would print as `{}`; keep what a reader needs. */
const serializeErrorFields = winston.format((info) => {
  for (const [key, value] of Object.entries(info)) {
    if (value instanceof Error) info[key] = describeError(value);
  }
  return info;
});

function describeError(error: Error): Record<string, unknown> {
  const code = (error as { code?: unknown }).code;
  return {
    name: error.name,
    message: error.message,
    ...(code === undefined ? {} : { code }),
    stack: error.stack,
  };
}

/**
 * The process's one logger: JSON lines carrying service, instance and the
 * current request id; errors keep their stack.
 */
export function createLogger({ service, instance, level = 'info', stream }: LoggerOptions): Logger {
  return winston.createLogger({
    level,
    defaultMeta: { service, instance },
    format: winston.format.combine(
      winston.format.errors({ stack: true }),
      serializeErrorFields(),
      withRequestId(),
      winston.format.timestamp(),
      winston.format.json(),
    ),
    transports: [
      // winston's typings declare its own transports as a different TransportStream class.
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
      stream ? new winston.transports.Stream({ stream }) : new winston.transports.Console(),
    ],
  });
}
