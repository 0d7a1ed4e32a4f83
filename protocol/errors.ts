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
  /** Two different signed events at one seq of a room: members were shown different histories. */
  'room.forked',
  'user.not_found',
  'key.fingerprint_mismatch',
  /** A message that would show nothing (protocol/text.ts isBlankMessage). */
  'message.blank',
  'server.busy',
  'server.timeout',
  'server.shutdown',
  'slow_consumer',
  /** A per-user quota of the tracker (rooms created, rooms joined) is used up. */
  'quota.exceeded',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Peer links (peer/link.ts); the first six may also arrive in a peer's `refused` frame. */
export const LINK_ERROR_CODES = [
  'link.refused',
  'link.bad_signature',
  'link.timeout',
  'link.unknown_user',
  'link.wrong_user',
  'link.protocol',
  'link.closed',
  'link.slow_consumer',
  'link.too_large',
  'link.invalid_message',
  /** Too many handshakes under way, or a lookup budget spent: try again later. */
  'link.busy',
] as const;
export type LinkErrorCode = (typeof LINK_ERROR_CODES)[number];

/** Sender-key sessions and envelopes (peer/sender-keys.ts): forged, altered, misaddressed, replayed. */
export const SENDER_KEY_ERROR_CODES = [
  'session.bad_signature',
  'session.not_for_me',
  'session.decrypt_failed',
  'message.bad_signature',
  'message.wrong_session',
  'message.decrypt_failed',
  'message.too_far_ahead',
  'message.key_used',
  'message.before_start',
  'message.too_large',
  'session.ended',
] as const;
export type SenderKeyErrorCode = (typeof SENDER_KEY_ERROR_CODES)[number];

/** Codes the terminal client adds in its answers (peer/cli-commands.ts). */
export const CLIENT_ERROR_CODES = {
  /** The tracker cannot be reached (refused, unknown host, timeout, link closed). */
  unreachable: 'tracker.unreachable',
  /** The tracker presented a certificate other than the pinned one. */
  fingerprintMismatch: 'tracker.fingerprint_mismatch',
  /** The user declined to trust a tracker seen for the first time. */
  untrusted: 'tracker.untrusted',
  /** The password breaks the policy (peer/account.ts checkPasswordPolicy). */
  weakPassword: 'auth.weak_password',
} as const;

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
