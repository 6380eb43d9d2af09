import axios from 'axios';
import { isTaskCancelled } from './task-cancelled';

/**
 * Which errors count against the breaker unless told otherwise: the
 * dependency failing to answer, not the dependency saying no. Counted:
 * cockatiel timeouts, HTTP calls that got no response (refused, reset, timed
 * out), 5xx, 408 and 429, and errors that carry such a `status`. Never
 * counted: other 4xx, which are answers (a decline, a validation error).
 */
export function isDependencyFailure(error: unknown): boolean {
  if (isTaskCancelled(error)) return true;
  if (axios.isAxiosError(error)) {
    if (error.response === undefined) return !axios.isCancel(error) || error.code === 'ETIMEDOUT';
    return isFailureStatus(error.response.status);
  }
  const status = (error as { status?: unknown } | null)?.status;
  if (typeof status === 'number') return isFailureStatus(status);
  return true;
}

const isFailureStatus = (status: number): boolean =>
  status >= 500 || status === 408 || status === 429;
