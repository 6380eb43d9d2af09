import http from 'node:http';
import axios, { type AxiosInstance } from 'axios';
import type { Logger } from './logger';
import { currentRequestId, REQUEST_ID_HEADER } from './request-context';

export interface HttpClientOptions {
  /** Names the downstream in logs, e.g. `payment-gateway`. */
  name: string;
  baseURL?: string;
  /** No outbound call in the lab is allowed to wait forever. */
  timeoutMs: number;
  logger: Logger;
  maxSockets?: number;
}

/**
 * An axios instance for calls to another service: keep-alive, a timeout on
 * every call, the current request id forwarded, and any HTTP status handed
 * back to the caller (the domain decides what a 4xx or 5xx means, not axios).
 */
export function createHttpClient({
  name,
  baseURL,
  timeoutMs,
  logger,
  maxSockets = 64,
}: HttpClientOptions): AxiosInstance {
  const client = axios.create({
    ...(baseURL === undefined ? {} : { baseURL }),
    timeout: timeoutMs,
    httpAgent: new http.Agent({ keepAlive: true, maxSockets }),
    validateStatus: () => true,
    // Timeouts surface as ETIMEDOUT instead of the ambiguous ECONNABORTED.
    transitional: { clarifyTimeoutError: true },
    maxRedirects: 0,
  });
  client.interceptors.request.use((config) => {
    const requestId = currentRequestId();
    if (requestId !== undefined) config.headers.set(REQUEST_ID_HEADER, requestId);
    return config;
  });
  client.interceptors.response.use(
    (response) => {
      logger.debug('downstream call', {
        downstream: name,
        method: response.config.method?.toUpperCase(),
        url: response.config.url,
        status: response.status,
      });
      return response;
    },
    (error: unknown) => {
      logger.debug('downstream call failed', { downstream: name, error });
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    },
  );
  return client;
}
