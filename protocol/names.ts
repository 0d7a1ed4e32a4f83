// User and room names. Only lowercase ASCII letters, digits and `._-` are allowed, so look-alike
// letters from other scripts (Cyrillic "а" for Latin "a") cannot impersonate anyone, and names are
// compared after lowercasing, so "Alice" and "alice" are one account.

import { ProtocolError } from './errors.ts';

export const NAME_PATTERN = /^[a-z0-9._-]{3,32}$/;
export const ROOM_NAME_PATTERN = /^[a-z0-9._-]{1,32}$/;

export function normalizeUserName(raw: string): string {
  const name = raw.trim().toLowerCase();
  if (!NAME_PATTERN.test(name)) {
    throw new ProtocolError(
      'auth.invalid_name',
      'user names are 3 to 32 characters of a-z, 0-9, dot, underscore and hyphen',
    );
  }
  return name;
}

export function normalizeRoomName(raw: string): string {
  const name = raw.trim().replace(/^#/, '').toLowerCase();
  if (!ROOM_NAME_PATTERN.test(name)) {
    throw new ProtocolError(
      'request.invalid',
      'room names are 1 to 32 characters of a-z, 0-9, dot, underscore and hyphen',
    );
  }
  return name;
}
