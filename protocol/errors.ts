// Stable error codes shared by the tracker, the peers and every client (DESIGN.md "Wire: frames").
// A code never changes meaning; the message is for people and may be reworded.

export const ERROR_CODES = [
  'request.invalid',
  'request.too_large',
  'request.unknown_type',
  'auth.required',
  'auth.bad_credentials',
  'auth.salt_changed',
  'auth.bad_token',
  'auth.user_exists',
  'auth.invalid_name',
  'auth.already_authenticated',
  'rate_limited',
  'room.not_found',
  'room.name_taken',
  'room.bad_password',
  'room.not_owner',
  'room.not_member',
  'room.already_member',
  'room.closed',
  'room.stale_head',
  'room.bad_signature',
  'room.invalid_event',
  'user.not_found',
  'key.fingerprint_mismatch',
  'server.busy',
  'server.timeout',
  'server.shutdown',
  'slow_consumer',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class ProtocolError extends Error {
  readonly code: ErrorCode;
  /** Present on `rate_limited`: milliseconds until a retry may succeed. */
  declare readonly retryAfterMs?: number;

  constructor(code: ErrorCode, message: string, retryAfterMs?: number) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
    if (retryAfterMs !== undefined) this.retryAfterMs = retryAfterMs;
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}
