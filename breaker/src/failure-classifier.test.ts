import axios, { AxiosError, AxiosHeaders, CanceledError } from 'axios';
import { TaskCancelledError } from 'cockatiel';
import { isAnyFailure, isHttpDependencyFailure } from './failure-classifier';

/*
 * The classifiers import no HTTP client: the HTTP one reads a status where
 * the common clients put it. Real axios errors prove the axios shape.
 */

const axiosError = (status?: number, code?: string) =>
  new AxiosError(
    'request failed',
    code,
    undefined,
    undefined,
    status === undefined
      ? undefined
      : { status, statusText: '', headers: {}, config: { headers: new AxiosHeaders() }, data: {} },
  );

describe('isAnyFailure, the default', () => {
  it('counts every error, as cockatiel handleAll does', () => {
    for (const error of [new Error('x'), axiosError(404), 'a string', undefined])
      expect(isAnyFailure(error)).toBe(true);
  });
});

describe('isHttpDependencyFailure', () => {
  it.each([500, 502, 503, 504, 408, 429])('counts HTTP %i from axios', (status) => {
    expect(isHttpDependencyFailure(axiosError(status))).toBe(true);
  });

  it.each([400, 401, 402, 404, 409, 422])('does not count HTTP %i, an answer', (status) => {
    expect(isHttpDependencyFailure(axiosError(status))).toBe(false);
  });

  it('counts a call that got no response: refused, reset, timed out', () => {
    expect(isHttpDependencyFailure(axiosError(undefined, 'ECONNREFUSED'))).toBe(true);
    expect(isHttpDependencyFailure(axiosError(undefined, 'ECONNRESET'))).toBe(true);
    expect(isHttpDependencyFailure(axiosError(undefined, 'ECONNABORTED'))).toBe(true);
    expect(isHttpDependencyFailure(new TaskCancelledError('timed out'))).toBe(true);
  });

  it('does not count a call its caller aborted', () => {
    const canceled = new CanceledError();
    expect(axios.isCancel(canceled)).toBe(true);
    expect(isHttpDependencyFailure(canceled)).toBe(false);
    expect(isHttpDependencyFailure(new DOMException('aborted', 'AbortError'))).toBe(false);
  });

  it('reads `status` and `statusCode` as other clients set them', () => {
    expect(isHttpDependencyFailure(Object.assign(new Error('x'), { status: 503 }))).toBe(true);
    expect(isHttpDependencyFailure(Object.assign(new Error('x'), { statusCode: 404 }))).toBe(false);
    expect(isHttpDependencyFailure(new Error('anything else'))).toBe(true);
    expect(isHttpDependencyFailure(null)).toBe(true);
  });
});
