// User and room names. Only lowercase ASCII letters, digits and `._-` are allowed, so look-alike
// letters from other scripts (Cyrillic "а" for Latin "a") cannot impersonate anyone, and names are
// compared after lowercasing, so "Alice" and "alice" are one account. Look-alikes inside that
// alphabet (`a1ice`, `alice.`, `rnallory`) are caught by the confusable skeleton below: a new
// name whose skeleton equals an existing one's is refused by the tracker.

import { ProtocolError } from './errors.ts';

/**
 * What a user name on the wire may look like (2 to 32 of the alphabet). Wider than what may be
 * registered today (`checkNewUserName`), so names stored before a rule was added stay readable.
 */
export const NAME_PATTERN = /^[a-z0-9._-]{2,32}$/;
export const ROOM_NAME_PATTERN = /^[a-z0-9._-]{1,32}$/;
export const NAME_MIN = 2;
export const NAME_MAX = 32;
/** A new name needs a letter or digit: `...`, `___` or a room called `-` names nobody. */
const HAS_LETTER_OR_DIGIT = /[a-z0-9]/;

export function normalizeUserName(raw: string): string {
  const name = raw.trim().toLowerCase();
  if (!NAME_PATTERN.test(name)) {
    throw new ProtocolError('auth.invalid_name', `user names are ${NAME_MIN} to ${NAME_MAX} characters of a-z, 0-9, dot, underscore and hyphen`);
  }
  return name;
}

export function normalizeRoomName(raw: string): string {
  const name = raw.trim().replace(/^#/, '').toLowerCase();
  if (!ROOM_NAME_PATTERN.test(name)) {
    throw new ProtocolError('request.invalid', 'room names are 1 to 32 characters of a-z, 0-9, dot, underscore and hyphen');
  }
  return name;
}

/** A name for a new account: normalized, and with at least one letter or digit. Throws auth.invalid_name. */
export function checkNewUserName(raw: string): string {
  const name = normalizeUserName(raw);
  if (!HAS_LETTER_OR_DIGIT.test(name)) throw new ProtocolError('auth.invalid_name', 'a user name needs at least one letter or digit');
  return name;
}

/** A name for a new room: normalized, and with at least one letter or digit. Throws request.invalid. */
export function checkNewRoomName(raw: string): string {
  const name = normalizeRoomName(raw);
  if (!HAS_LETTER_OR_DIGIT.test(name)) throw new ProtocolError('request.invalid', 'a room name needs at least one letter or digit');
  return name;
}

/**
 * Each character's prototype, after Unicode TS #39 (confusables.txt), restricted to our alphabet.
 * Entries of confusables.txt whose source is in it: `0 → O`, `1 → l`, `I → l`, `d → cl`,
 * `m → rn`; names are case-insensitive, so `O` is `o` and `I` is `i`. `d → cl` folds `cl` and `d`
 * together (dora/clora, design/clesign; and with `1`, `i → l` also c1ora, ciora), as the TS #39
 * skeleton does. Added here (not in TS #39, but the same kind as `m → rn` in the sans-serif fonts
 * of editors): `w → vv`. Left out on purpose, to keep real names apart: `5`/`s`, and leetspeak
 * (3/e, 4/a). Changing this table changes stored skeletons: tracker/db.ts recomputes them in a
 * migration (as migration 6 did for `d → cl`).
 */
const PROTOTYPE: ReadonlyMap<string, string> = new Map([
  ['0', 'o'],
  ['1', 'l'],
  ['d', 'cl'],
  ['i', 'l'],
  ['m', 'rn'],
  ['w', 'vv'],
]);
/** Separators look like nothing much, at the end of a name or between its parts: ignored. */
const SEPARATORS = /[._-]/g;

/**
 * The confusable skeleton of a normalized user or room name (TS #39 `skeleton`, with the table
 * above): two names with the same skeleton look alike, so `a1ice`, `alice.`, `al-ice` and
 * `AIice` all have the skeleton of `alice` ('allce'), `rnallory` that of `mallory`, and `clora`
 * that of `dora` ('clora'). Pure;
 * never throws for a string.
 */
export function nameSkeleton(name: string): string {
  let out = '';
  for (const ch of name.toLowerCase().replace(SEPARATORS, '')) out += PROTOTYPE.get(ch) ?? ch;
  return out;
}
