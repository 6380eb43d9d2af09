/**
 * The messages and names ioredis gives errors that mean "Redis did not
 * answer": a command that ran out of time, a command issued while the
 * connection is down (the offline queue is off), a connection closed under
 * a command, and a command that gave up after its reconnection attempts.
 */
const UNAVAILABLE_MESSAGES = new Set([
  'Command timed out',
  "Stream isn't writeable and enableOfflineQueue options is false",
  'Connection is closed.',
]);

/** Whether `error` says Redis is away (paused, stopped, unreachable), not that a command was wrong. */
export const isRedisUnavailable = (error: unknown): error is Error =>
  error instanceof Error &&
  (UNAVAILABLE_MESSAGES.has(error.message) || error.name === 'MaxRetriesPerRequestError');
