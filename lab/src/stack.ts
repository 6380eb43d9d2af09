import { errorBodySchema } from '@cb-lab/contracts';
import type { z } from 'zod';
/** Where the running stack answers; every address can be changed by a flag or an environment variable. */
export interface StackEndpoints {
  orders: string;
  payments: string[];
  gateway: string;
  prometheus: string;
  adminToken: string;
}

export const DEFAULT_ENDPOINTS: StackEndpoints = {
  orders: 'http://localhost:8080',
  payments: ['http://localhost:8081', 'http://localhost:8082', 'http://localhost:8083'],
  gateway: 'http://localhost:8090',
  prometheus: 'http://localhost:9090',
  adminToken: 'lab-admin-token-change-me',
};

/** A failure the user can act on: printed as is, without a stack trace. */
export class LabError extends Error {
  override readonly name = 'LabError';
}

export const isLabError = (error: unknown): error is LabError => error instanceof LabError;

const describeCause = (error: unknown): string => {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
};

/**
 * Calls one service of the stack and parses its JSON answer with the contract's `answer` schema. A refused
 * connection becomes a LabError that says which service is down and how to
 * start the stack; an error answer becomes one that quotes it.
 */
export async function callJson<S extends z.ZodType>(
  service: string,
  url: string,
  answer: S,
  init: RequestInit & { token?: string; timeoutMs?: number } = {},
): Promise<z.output<S>> {
  const { token, timeoutMs = 5_000, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  if (rest.body !== undefined) headers.set('content-type', 'application/json');
  let response: Response;
  try {
    response = await fetch(url, { ...rest, headers, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw new LabError(
      `Cannot reach ${service} at ${new URL(url).origin} (${describeCause(error)}). ` +
        'Is the stack up? Start it with: docker compose up --build --wait',
    );
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    throw new LabError(
      `${service} answered ${response.status} with something that is not JSON: ${text.slice(0, 200)}`,
    );
  }
  if (!response.ok) {
    const refusal = errorBodySchema.safeParse(body);
    const hint =
      response.status === 401 || response.status === 403 ? ' (check --token or ADMIN_TOKEN)' : '';
    throw new LabError(
      refusal.success
        ? `${service} answered ${response.status} ${refusal.data.error}: ${refusal.data.message}${hint}`
        : `${service} answered ${response.status}: ${text.slice(0, 200)}${hint}`,
    );
  }
  const parsed = answer.safeParse(body);
  if (!parsed.success) {
    const problem = parsed.error.issues[0];
    throw new LabError(
      `${service} answered ${response.status} with something the lab does not understand` +
        ` (${problem?.path.join('.') || 'the body'}: ${problem?.message ?? 'unexpected'}). Is the stack from another version?`,
    );
  }
  return parsed.data;
}

/** Reads a Prometheus text exposition from a service's /metrics. */
export async function fetchMetrics(service: string, baseUrl: string): Promise<string> {
  try {
    const response = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
    return await response.text();
  } catch (error) {
    throw new LabError(
      `Cannot read the metrics of ${service} at ${baseUrl} (${describeCause(error)}). Is the stack up?`,
    );
  }
}
