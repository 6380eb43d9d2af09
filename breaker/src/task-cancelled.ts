import { TaskCancelledError } from 'cockatiel';

/**
 * Whether `error` is cockatiel's TaskCancelledError: a timeout policy gave
 * up on the call, or its caller cancelled it. Use this, not cockatiel's own
 * `isTaskCancelledError`: in cockatiel 3.2.1 that guard tests for the
 * bulkhead's marker property and answers false for every real timeout, so a
 * breaker relying on it never counts a dependency that stopped answering.
 */
export const isTaskCancelled = (error: unknown): error is TaskCancelledError =>
  error instanceof TaskCancelledError ||
  (error instanceof Error &&
    (error as { isTaskCancelledError?: unknown }).isTaskCancelledError === true);
