import type { IDefaultPolicyContext } from 'cockatiel';

/** What the breaker did with a call, as its events and metrics count it. */
export type CallOutcome = 'success' | 'failure' | 'rejected';

/** What the protected function receives: cockatiel's context, and whether this call is the probe. */
export interface BreakerContext extends IDefaultPolicyContext {
  /** True for the single half-open call whose outcome closes or reopens the breaker. */
  readonly probe: boolean;
}

/** How a finished call counts: for the breaker, against it, or not at all. */
export type Verdict = 'success' | 'failure' | 'neutral' | 'cancelled';

/** How the calls of one breaker are judged. */
export interface CallJudge {
  /** Whether an error counts against the breaker. */
  isFailure: (error: unknown) => boolean;
  /** A success slower than this counts as a failure. */
  slowCallMs: number;
}

/** Sorts a finished call, the same way in the shared breaker and in the local one. */
export function verdictOf(
  result: { error: unknown } | { durationMs: number },
  signal: AbortSignal,
  judge: CallJudge,
): Verdict {
  if ('durationMs' in result) return result.durationMs > judge.slowCallMs ? 'failure' : 'success';
  // The caller gave up on the call: that says nothing about the dependency.
  if (signal.aborted) return 'cancelled';
  return judge.isFailure(result.error) ? 'failure' : 'neutral';
}

export type CallResult<T> = { value: T } | { error: unknown };

export interface JudgedCall<T> {
  result: CallResult<T>;
  durationMs: number;
  verdict: Verdict;
}

/** Runs the protected function, times it and judges it; never throws (the error is in `result`). */
export async function runJudged<T>(
  fn: (context: BreakerContext) => PromiseLike<T> | T,
  signal: AbortSignal,
  probe: boolean,
  judge: CallJudge,
): Promise<JudgedCall<T>> {
  const started = performance.now();
  let result: CallResult<T>;
  try {
    result = { value: await fn({ signal, probe }) };
  } catch (error) {
    result = { error };
  }
  const durationMs = performance.now() - started;
  const verdict = verdictOf('error' in result ? result : { durationMs }, signal, judge);
  return { result, durationMs, verdict };
}

/** The call's value, or its error thrown again. */
export function unwrap<T>(result: CallResult<T>): T {
  if ('error' in result) throw result.error;
  return result.value;
}
