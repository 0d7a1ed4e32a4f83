// Client-side account crypto (DESIGN.md "Tracker", accounts): the tracker never receives a
// password. scrypt with the client's own constants and the user's salt, then HKDF, gives an
// authKey (sent to the tracker, which stores only bcrypt of it) and a keyKey that never leaves
// the client and encrypts the user's private keys into the blob the tracker keeps for them.
// `user` is always the normalized name (protocol/names.ts normalizeUserName): the identity and
// the blob are bound to it.

import { createPublicKey } from 'node:crypto';
import {
  LABELS,
  SCRYPT_PARAMS,
  exportPrivateKey,
  exportPublicKey,
  fromBase64Url,
  generateRsaKeyPair,
  hkdfSha256,
  importPrivateKey,
  open,
  randomBytes,
  scryptDerive,
  seal,
  toBase64Url,
  type RsaKeyPair,
} from '../protocol/crypto.ts';
import { ProtocolError, isCoded } from '../protocol/errors.ts';
import { makeIdentity, type Identity } from '../protocol/identity.ts';
import { COMMON_PASSWORDS, COMMON_WORDS, LOOKALIKES, SEQUENCES } from './common-passwords.ts';

/** The tracker's salt schema is 16 bytes. */
export const ACCOUNT_SALT_BYTES = 16;
const KEY_BYTES = 32;
/** NIST SP 800-63B-4 §3.1.1.2: at least 15 characters when the password is the only factor. */
export const MIN_PASSWORD_LENGTH = 15;
/** A password that is common words, sequences and repeats plus at most this many characters is refused. */
const MAX_FREE_CHARACTERS = 3;
/** Beyond this the pattern search is skipped: such a password is not short on anything but patterns. */
const MAX_PATTERN_CHECK_LENGTH = 256;
const BLOB_VERSION = 1;

export interface AccountKeys {
  /** Sent to the tracker (base64url) at register and login. */
  authKey: Buffer;
  /** Never leaves the client: encrypts the private keys. */
  keyKey: Buffer;
}

export interface UserKeys {
  signing: RsaKeyPair;
  encryption: RsaKeyPair;
}

export interface IdentityKeys extends UserKeys {
  identity: Identity;
}

export type ScryptParams = { N: number; r: number; p: number; maxmem: number };

/** A fresh random salt for a new account or a password change. */
export function newAccountSalt(): Buffer {
  return randomBytes(ACCOUNT_SALT_BYTES);
}

/**
 * The real client always uses SCRYPT_PARAMS (never parameters from the network, so a tracker
 * cannot downgrade them); `scryptParams` exists for tests.
 */
export async function deriveAccountKeys(
  password: string,
  saltBytes: Uint8Array,
  scryptParams: ScryptParams = SCRYPT_PARAMS,
): Promise<AccountKeys> {
  if (!(saltBytes instanceof Uint8Array) || saltBytes.length !== ACCOUNT_SALT_BYTES) {
    throw new TypeError(`salt must be ${ACCOUNT_SALT_BYTES} bytes`);
  }
  const secret = await scryptDerive(password, saltBytes, KEY_BYTES, scryptParams);
  // scrypt's output is already uniform and salted, so HKDF needs no salt of its own (RFC 5869 §3.1);
  // the labels keep the two keys independent.
  const empty = Buffer.alloc(0);
  const keys = {
    authKey: hkdfSha256(secret, empty, LABELS.auth, KEY_BYTES),
    keyKey: hkdfSha256(secret, empty, LABELS.keywrap, KEY_BYTES),
  };
  secret.fill(0);
  return keys;
}

/** Two RSA-2048 pairs (signing, encryption) and the public identity that certifies them. */
export async function createIdentityKeys(user: string): Promise<IdentityKeys> {
  const [signing, encryption] = await Promise.all([generateRsaKeyPair(), generateRsaKeyPair()]);
  return { signing, encryption, identity: makeIdentity(user, signing, encryption) };
}

function blobAad(user: string): Buffer {
  return Buffer.concat([Buffer.from(LABELS.keywrap, 'utf8'), Buffer.of(0), Buffer.from(user, 'utf8')]);
}

/** The private keys as base64url of AES-256-GCM(keyKey, v1 ‖ len ‖ PKCS#8 ‖ len ‖ PKCS#8), bound to the user. */
export function encryptKeyBlob(keyKey: Uint8Array, user: string, keys: UserKeys): string {
  const signing = exportPrivateKey(keys.signing.privateKey);
  const encryption = exportPrivateKey(keys.encryption.privateKey);
  const plaintext = Buffer.alloc(1 + 2 + signing.length + 2 + encryption.length);
  let at = plaintext.writeUInt8(BLOB_VERSION, 0);
  at = plaintext.writeUInt16BE(signing.length, at);
  at += signing.copy(plaintext, at);
  at = plaintext.writeUInt16BE(encryption.length, at);
  encryption.copy(plaintext, at);
  try {
    return toBase64Url(seal(keyKey, plaintext, blobAad(user)));
  } finally {
    plaintext.fill(0);
    signing.fill(0);
    encryption.fill(0);
  }
}

/** Throws ProtocolError('crypto.decrypt_failed') for another key, another user, or an altered blob. */
export function decryptKeyBlob(keyKey: Uint8Array, user: string, blob: string): UserKeys {
  let sealed: Buffer;
  try {
    sealed = fromBase64Url(blob);
  } catch {
    throw new ProtocolError('crypto.decrypt_failed', 'the key blob is not base64url');
  }
  let plaintext: Buffer;
  try {
    plaintext = open(keyKey, sealed, blobAad(user));
  } catch (err) {
    if (!isCoded(err)) throw err;
    throw new ProtocolError(
      'crypto.decrypt_failed',
      `the key blob of ${user} does not open with this password (a wrong password, another user's blob, or a blob altered on the tracker)`,
    );
  }
  try {
    if (plaintext.length < 1 || plaintext[0] !== BLOB_VERSION) throw new Error('unknown version');
    let at = 1;
    const take = (): Buffer => {
      const length = plaintext.readUInt16BE(at);
      const der = plaintext.subarray(at + 2, at + 2 + length);
      if (der.length !== length) throw new Error('truncated');
      at += 2 + length;
      return der;
    };
    const signing = importPrivateKey(take());
    const encryption = importPrivateKey(take());
    if (at !== plaintext.length) throw new Error('trailing bytes');
    return {
      signing: { privateKey: signing, publicKey: createPublicKey(signing) },
      encryption: { privateKey: encryption, publicKey: createPublicKey(encryption) },
    };
  } catch (err) {
    throw new ProtocolError('crypto.bad_key', `the key blob of ${user} is malformed: ${(err as Error).message}`);
  } finally {
    plaintext.fill(0);
  }
}

/** Whether unlocked private keys belong to the public identity the tracker serves for the user. */
export function keysMatchIdentity(keys: UserKeys, identity: Identity): boolean {
  return (
    toBase64Url(exportPublicKey(keys.signing.publicKey)) === identity.signingKey &&
    toBase64Url(exportPublicKey(keys.encryption.publicKey)) === identity.encryptionKey
  );
}

// ---- password policy -------------------------------------------------------------------------

export type PasswordProblem = 'too_short' | 'common' | 'predictable';

/** The password-policy refusal: code `auth.weak_password`, the reason in `details.problem`. */
function weakPassword(problem: PasswordProblem, message: string): ProtocolError {
  return new ProtocolError('auth.weak_password', message, { details: { problem } });
}

const lettersAndDigits = (s: string): string => s.replace(/[^\p{L}\p{N}]/gu, '');
const COMMON_SET: ReadonlySet<string> = new Set(COMMON_PASSWORDS.map((p) => lettersAndDigits(p.toLowerCase())));
const WORD_TOKENS: readonly string[] = [...new Set([...COMMON_SET, ...COMMON_WORDS])].filter((w) => w.length > 0);
const SEQUENCE_TOKENS: readonly string[] = SEQUENCES.flatMap((s) => [s, [...s].reverse().join('')]);

/**
 * Refuses, with a message that says why, a password under MIN_PASSWORD_LENGTH characters
 * (Unicode code points after NFKC, as NIST SP 800-63B-4 counts them), one from the common list,
 * or one built only from common words, the user name, sequences (1234, qwerty) and repeats
 * (aaaa) plus a few other characters. No composition rules: NIST advises against them.
 */
export function checkPasswordPolicy(password: string, user?: string): void {
  if (typeof password !== 'string') throw new TypeError('password must be a string');
  const typed = password.normalize('NFKC');
  const length = [...typed].length;
  if (length < MIN_PASSWORD_LENGTH) {
    throw weakPassword(
      'too_short',
      `Passwords must be at least ${MIN_PASSWORD_LENGTH} characters long (NIST SP 800-63B-4); this one has ${length}. ` +
        'A phrase of a few unrelated words is long and easy to remember.',
    );
  }
  const lower = typed.toLowerCase();
  const plain = lettersAndDigits(lower);
  if (COMMON_SET.has(plain)) {
    throw weakPassword(
      'common',
      'This password is on the list of common passwords that attackers try first. Choose another one.',
    );
  }
  const why = predictable(lower, user);
  if (why) {
    throw weakPassword('predictable', `This password is too easy to guess: ${why}. Choose a phrase of a few unrelated words.`);
  }
}

function predictable(lower: string, user: string | undefined): string | undefined {
  if (/^(.)\1*$/u.test(lower)) return 'it repeats one character';
  // Spaces and punctuation separate words and add next to nothing; look-alikes (p@$$w0rd) stay
  // for word matching, and so do symbols and emoji, which are characters like any other.
  const text = [...lower].filter((c) => !/[\p{Z}\p{P}\p{Cc}]/u.test(c) || LOOKALIKES.has(c));
  if (text.length === 0) return 'it is only spaces and punctuation';
  const period = smallestPeriod(text);
  if (period < text.length && period < MIN_PASSWORD_LENGTH) return `it repeats "${text.slice(0, period).join('')}"`;
  if (text.length > MAX_PATTERN_CHECK_LENGTH) return undefined;
  const names = user ? userTokens(user) : [];
  const free = freeCharacters(text, [...WORD_TOKENS, ...names]);
  const parts = `common words${names.length ? ', your user name' : ''}, years, repeated characters and sequences like 1234 or qwerty`;
  if (free === 0) return `it is made only of ${parts}`;
  if (free <= MAX_FREE_CHARACTERS) return `apart from ${parts}, it has only ${free} other character${free === 1 ? '' : 's'}`;
  return undefined;
}

/** The shortest unit that `text` is a whole repetition of (its length when there is none): KMP. */
function smallestPeriod(text: string[]): number {
  const n = text.length;
  const fail = new Array<number>(n).fill(0);
  for (let i = 1, k = 0; i < n; i++) {
    while (k > 0 && text[i] !== text[k]) k = fail[k - 1];
    if (text[i] === text[k]) k++;
    fail[i] = k;
  }
  const period = n - (fail[n - 1] ?? 0);
  return n % period === 0 ? period : n;
}

function userTokens(user: string): string[] {
  const lower = user.normalize('NFKC').toLowerCase();
  return [lettersAndDigits(lower), ...lower.split(/[^\p{L}\p{N}]+/u)].filter((t) => t.length >= 3);
}

const charMatches = (c: string, letter: string): boolean => c === letter || (LOOKALIKES.get(c)?.includes(letter) ?? false);

/**
 * The fewest characters left over when `text` is cut into known pieces (words, sequences of three
 * or more, runs of one repeated character, years 1900-2099), each of which costs nothing.
 */
function freeCharacters(text: string[], words: readonly string[]): number {
  const n = text.length;
  const cost = new Array<number>(n + 1).fill(Infinity);
  cost[0] = 0;
  const relax = (to: number, c: number) => {
    if (c < cost[to]) cost[to] = c;
  };
  for (let i = 0; i < n; i++) {
    if (cost[i] === Infinity) continue;
    const here = cost[i];
    relax(i + 1, here + 1);
    for (const w of words) {
      if (i + w.length > n) continue;
      let k = 0;
      while (k < w.length && charMatches(text[i + k], w[k])) k++;
      if (k === w.length) relax(i + k, here);
    }
    for (const seq of SEQUENCE_TOKENS) {
      for (let j = seq.indexOf(text[i]); j !== -1; j = seq.indexOf(text[i], j + 1)) {
        let k = 1;
        while (i + k < n && j + k < seq.length && text[i + k] === seq[j + k]) {
          k++;
          if (k >= 3) relax(i + k, here);
        }
      }
    }
    let run = 1;
    while (i + run < n && text[i + run] === text[i]) {
      run++;
      relax(i + run, here);
    }
    if (i + 4 <= n && /^(19|20)\d\d$/.test(text.slice(i, i + 4).join(''))) relax(i + 4, here);
  }
  return cost[n];
}
