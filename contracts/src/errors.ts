import { z } from 'zod';

/**
 * Every `error` code a lab service answers with: a closed list, so a client
 * matches codes it knows instead of another service's message text.
 */
export const ERROR_CODES = [
  // The request itself.
  'invalid_request',
  'invalid_json',
  'invalid_path',
  'invalid_body',
  'bad_request',
  'request_aborted',
  'payload_too_large',
  'unsupported_encoding',
  'unsupported_charset',
  'unauthorized',
  'forbidden',
  'not_found',
  'idempotency_key_reused',
  // The service's own state.
  'not_ready',
  'busy',
  'shutting_down',
  'store_unavailable',
  'store_full',
  'internal_error',
  // Payments and the gateway.
  'circuit_open',
  'gateway_unavailable',
  'gateway_error',
  'breaker_disabled',
  'injected_fault',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export const isErrorCode = (code: unknown): code is ErrorCode =>
  (ERROR_CODES as readonly unknown[]).includes(code);

/** The one error body every service answers with. */
export const errorBodySchema = z.object({
  error: z.enum(ERROR_CODES),
  message: z.string(),
});

export type ErrorBody = z.output<typeof errorBodySchema>;
