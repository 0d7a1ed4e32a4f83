// The one wrapper over node:crypto. Every parameter is fixed here because Node's defaults are
// wrong for us (GCM tag length, OAEP hash, PSS salt length) and must never be relied on.
// Pure computation: no I/O, no imports of ours but the error registry. Bad *arguments* (wrong type
// or size, a programmer error) throw TypeError naming the field; bad *data* (failed auth, unusable
// key) throws ProtocolError with a `crypto.*` code.
import * as nc from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { ProtocolError } from './errors.ts';

export const LABEL_PREFIX = 'p2p-chat/v1/';
export const LABELS = {
  roomEvent: 'p2p-chat/v1/room-event',
  auth: 'p2p-chat/v1/auth',
  keywrap: 'p2p-chat/v1/keywrap',
  encryptionKeyCert: 'p2p-chat/v1/encryption-key-cert',
  roomJoinProof: 'p2p-chat/v1/room-join-proof',
  roomCheck: 'p2p-chat/v1/room-check',
  fakeSalt: 'p2p-chat/v1/fake-salt',
  trackerBlobWrap: 'p2p-chat/v1/tracker-blob-wrap',
  linkHandshake: 'p2p-chat/v1/link-handshake',
  linkKeys: 'p2p-chat/v1/link-keys',
  sessionBundle: 'p2p-chat/v1/session-bundle',
  sessionWrap: 'p2p-chat/v1/session-wrap',
  message: 'p2p-chat/v1/message',
  messageKey: 'p2p-chat/v1/message-key',
  chainKey: 'p2p-chat/v1/chain-key',
} as const;
export type Label = (typeof LABELS)[keyof typeof LABELS];

/** Client constants, never taken from the network, so a tracker cannot downgrade them. */
export const SCRYPT_PARAMS = Object.freeze({ N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 });
export const RSA_BITS = 2048;
export const RSA_PUBLIC_EXPONENT = 65537;
export const GCM_KEY_BYTES = 32;
export const GCM_IV_BYTES = 12;
export const GCM_TAG_BYTES = 16;
export const PSS_SALT_BYTES = 32; // = SHA-256 output, the RFC 8017 recommendation
export const X25519_KEY_BYTES = 32;
export const SHA256_BYTES = 32;
export const HKDF_MAX_BYTES = 255 * SHA256_BYTES; // RFC 5869 limit
export const HKDF_MAX_INFO_BYTES = 1024; // OpenSSL/Node limit
/** Largest OAEP plaintext for RSA-2048 with SHA-256: k - 2·hLen - 2. */
export const OAEP_MAX_PLAINTEXT_BYTES = RSA_BITS / 8 - 2 * SHA256_BYTES - 2;

// DER headers that turn a raw 32-byte X25519 key into SPKI / PKCS#8 (RFC 8410).
const X25519_SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const KNOWN_LABELS: ReadonlySet<string> = new Set(Object.values(LABELS));

// ---- boundary checks -------------------------------------------------------------------------

function abytes(value: unknown, title: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${title} must be a Uint8Array`);
  if (length !== undefined && value.length !== length) {
    throw new TypeError(`${title} must be ${length} bytes, got ${value.length}`);
  }
  return value;
}

function aint(value: unknown, title: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new TypeError(`${title} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

function textOrBytes(value: unknown, title: string): Buffer {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  return Buffer.from(abytes(value, title));
}

function alabel(label: unknown): string {
  if (typeof label !== 'string' || !KNOWN_LABELS.has(label)) {
    throw new TypeError(`label must be one of LABELS, got ${JSON.stringify(label)}`);
  }
  return label;
}

function akey(key: unknown, title: string, type: 'public' | 'private', alg: 'rsa' | 'x25519'): KeyObject {
  if (!(key instanceof nc.KeyObject) || key.type !== type || key.asymmetricKeyType !== alg) {
    throw new TypeError(`${title} must be a ${alg} ${type} KeyObject`);
  }
  if (alg === 'rsa' && key.asymmetricKeyDetails?.modulusLength !== RSA_BITS) {
    throw new TypeError(`${title} must be RSA-${RSA_BITS}`);
  }
  return key;
}

// An RSA key is usable only if it is plain RSA (not the rsa-pss OID), 2048 bits, e = 65537.
function checkRsaImport(key: KeyObject): KeyObject {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType !== 'rsa' || d?.modulusLength !== RSA_BITS ||
      d.publicExponent !== BigInt(RSA_PUBLIC_EXPONENT)) {
    throw new ProtocolError('crypto.bad_key', `key must be RSA-${RSA_BITS} with e=${RSA_PUBLIC_EXPONENT}`);
  }
  return key;
}

// ---- hashes, MACs, KDFs ----------------------------------------------------------------------

export function randomBytes(n: number): Buffer {
  return nc.randomBytes(aint(n, 'n', 0, 1 << 20));
}

export function sha256(...parts: Uint8Array[]): Buffer {
  const h = nc.createHash('sha256');
  parts.forEach((p, i) => h.update(abytes(p, `parts[${i}]`)));
  return h.digest();
}

export function hmacSha256(key: Uint8Array, data: Uint8Array): Buffer {
  return nc.createHmac('sha256', abytes(key, 'key')).update(abytes(data, 'data')).digest();
}

export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: string | Uint8Array, length: number): Buffer {
  const infoBytes = textOrBytes(info, 'info');
  if (infoBytes.length > HKDF_MAX_INFO_BYTES) throw new TypeError(`info must be at most ${HKDF_MAX_INFO_BYTES} bytes`);
  aint(length, 'length', 1, HKDF_MAX_BYTES);
  return Buffer.from(nc.hkdfSync('sha256', abytes(ikm, 'ikm'), abytes(salt, 'salt'), infoBytes, length));
}

/** scrypt; a string password is NFKC-normalized (so the same typed password always matches). */
export function scryptDerive(
  password: string | Uint8Array, salt: Uint8Array, length = 32,
  params: { N: number; r: number; p: number; maxmem: number } = SCRYPT_PARAMS,
): Promise<Buffer> {
  const pw = typeof password === 'string'
    ? Buffer.from(password.normalize('NFKC'), 'utf8') : abytes(password, 'password');
  abytes(salt, 'salt');
  aint(length, 'length', 1, 1024);
  const N = aint(params?.N, 'params.N', 2, 2 ** 30);
  if ((N & (N - 1)) !== 0) throw new TypeError('params.N must be a power of two');
  const opts = { N, r: aint(params.r, 'params.r', 1, 1024), p: aint(params.p, 'params.p', 1, 1024),
    maxmem: aint(params.maxmem, 'params.maxmem', 1, 2 ** 32) };
  return promisify<Uint8Array, Uint8Array, number, nc.ScryptOptions, Buffer>(nc.scrypt)(pw, salt, length, opts);
}

// ---- AES-256-GCM -----------------------------------------------------------------------------

/** Returns ciphertext || 16-byte tag. Only 32-byte keys and 12-byte IVs: no other GCM variant. */
export function aesGcmEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const c = nc.createCipheriv('aes-256-gcm', abytes(key, 'key', GCM_KEY_BYTES), abytes(iv, 'iv', GCM_IV_BYTES),
    { authTagLength: GCM_TAG_BYTES });
  c.setAAD(abytes(aad, 'aad'));
  const ct = Buffer.concat([c.update(abytes(plaintext, 'plaintext')), c.final()]);
  return Buffer.concat([ct, c.getAuthTag()]);
}

export function aesGcmDecrypt(key: Uint8Array, iv: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
  abytes(key, 'key', GCM_KEY_BYTES); abytes(iv, 'iv', GCM_IV_BYTES);
  abytes(sealed, 'sealed'); abytes(aad, 'aad');
  if (sealed.length < GCM_TAG_BYTES) throw new ProtocolError('crypto.decrypt_failed', 'ciphertext too short');
  const split = sealed.length - GCM_TAG_BYTES;
  try {
    const d = nc.createDecipheriv('aes-256-gcm', key, iv, { authTagLength: GCM_TAG_BYTES });
    d.setAAD(aad);
    d.setAuthTag(sealed.subarray(split));
    return Buffer.concat([d.update(sealed.subarray(0, split)), d.final()]);
  } catch {
    throw new ProtocolError('crypto.decrypt_failed', 'decryption failed (wrong key, tampered data or wrong AAD)');
  }
}

/** Random 96-bit IV (safe for < 2^32 messages per key): returns iv || ct || tag. */
export function seal(key: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Buffer {
  const iv = nc.randomBytes(GCM_IV_BYTES);
  return Buffer.concat([iv, aesGcmEncrypt(key, iv, plaintext, aad)]);
}

export function open(key: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Buffer {
  abytes(sealed, 'sealed');
  if (sealed.length < GCM_IV_BYTES + GCM_TAG_BYTES) throw new ProtocolError('crypto.decrypt_failed', 'sealed data too short');
  return aesGcmDecrypt(key, sealed.subarray(0, GCM_IV_BYTES), sealed.subarray(GCM_IV_BYTES), aad);
}

// ---- RSA keys --------------------------------------------------------------------------------

export interface RsaKeyPair { publicKey: KeyObject; privateKey: KeyObject }

export function generateRsaKeyPair(): Promise<RsaKeyPair> {
  return promisify(nc.generateKeyPair)('rsa', { modulusLength: RSA_BITS, publicExponent: RSA_PUBLIC_EXPONENT });
}

export function exportPublicKey(key: KeyObject): Buffer {
  return akey(key, 'key', 'public', 'rsa').export({ type: 'spki', format: 'der' });
}

/** Only canonical DER is accepted, so one key has exactly one fingerprint. */
export function importPublicKey(der: Uint8Array): KeyObject {
  abytes(der, 'der');
  let key: KeyObject;
  try {
    key = nc.createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
  } catch {
    throw new ProtocolError('crypto.bad_key', 'not an SPKI DER public key');
  }
  checkRsaImport(key);
  if (!key.export({ type: 'spki', format: 'der' }).equals(der)) {
    throw new ProtocolError('crypto.bad_key', 'public key DER is not canonical');
  }
  return key;
}

export function exportPrivateKey(key: KeyObject): Buffer {
  return akey(key, 'key', 'private', 'rsa').export({ type: 'pkcs8', format: 'der' });
}

export function importPrivateKey(der: Uint8Array): KeyObject {
  abytes(der, 'der');
  let key: KeyObject;
  try {
    key = nc.createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
  } catch {
    throw new ProtocolError('crypto.bad_key', 'not a PKCS#8 DER private key');
  }
  return checkRsaImport(key);
}

// ---- RSA-PSS (SHA-256, MGF1-SHA-256, salt 32) ------------------------------------------------

const PSS = { padding: nc.constants.RSA_PKCS1_PSS_PADDING, saltLength: PSS_SALT_BYTES } as const;

// UTF8(label) || 0x00 || data: labels contain no NUL, so no two (label, data) pairs collide.
function labelled(label: unknown, data: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from(alabel(label), 'utf8'), Buffer.of(0), abytes(data, 'data')]);
}

export function pssSignRaw(privateKey: KeyObject, message: Uint8Array): Buffer {
  const key = akey(privateKey, 'privateKey', 'private', 'rsa');
  return nc.sign('sha256', abytes(message, 'message'), { key, ...PSS });
}

/** Returns false, never throws, for any bad signature bytes. */
export function pssVerifyRaw(publicKey: KeyObject, message: Uint8Array, signature: Uint8Array): boolean {
  const key = akey(publicKey, 'publicKey', 'public', 'rsa');
  abytes(message, 'message'); abytes(signature, 'signature');
  if (signature.length !== RSA_BITS / 8) return false;
  try {
    return nc.verify('sha256', message, { key, ...PSS }, signature);
  } catch {
    return false;
  }
}

export function signPss(privateKey: KeyObject, label: Label, data: Uint8Array): Buffer {
  return pssSignRaw(privateKey, labelled(label, data));
}

export function verifyPss(publicKey: KeyObject, label: Label, data: Uint8Array, signature: Uint8Array): boolean {
  return pssVerifyRaw(publicKey, labelled(label, data), signature);
}

// ---- RSA-OAEP (SHA-256, MGF1-SHA-256; the label is the OAEP label) ---------------------------

const OAEP = { padding: nc.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' } as const;

export function oaepEncrypt(publicKey: KeyObject, label: string | Uint8Array, plaintext: Uint8Array): Buffer {
  const key = akey(publicKey, 'publicKey', 'public', 'rsa');
  const oaepLabel = textOrBytes(label, 'label');
  if (abytes(plaintext, 'plaintext').length > OAEP_MAX_PLAINTEXT_BYTES) {
    throw new TypeError(`plaintext must be at most ${OAEP_MAX_PLAINTEXT_BYTES} bytes`);
  }
  return nc.publicEncrypt({ key, ...OAEP, oaepLabel }, plaintext);
}

/** One error for every failure, so a caller cannot become a padding oracle (Manger). */
export function oaepDecrypt(privateKey: KeyObject, label: string | Uint8Array, ciphertext: Uint8Array): Buffer {
  const key = akey(privateKey, 'privateKey', 'private', 'rsa');
  const oaepLabel = textOrBytes(label, 'label');
  abytes(ciphertext, 'ciphertext');
  try {
    if (ciphertext.length !== RSA_BITS / 8) throw new Error('length');
    return nc.privateDecrypt({ key, ...OAEP, oaepLabel }, ciphertext);
  } catch {
    throw new ProtocolError('crypto.decrypt_failed', 'RSA-OAEP decryption failed');
  }
}

// ---- X25519 ----------------------------------------------------------------------------------

export function x25519Generate(): { publicKey: Buffer; privateKey: KeyObject } {
  const { publicKey, privateKey } = nc.generateKeyPairSync('x25519');
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  return { publicKey: spki.subarray(X25519_SPKI_PREFIX.length), privateKey };
}

export function x25519PrivateFromRaw(raw: Uint8Array): KeyObject {
  const der = Buffer.concat([X25519_PKCS8_PREFIX, abytes(raw, 'raw', X25519_KEY_BYTES)]);
  return nc.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

/** Refuses an all-zero result (RFC 7748 §6.1): the peer sent a low-order point. */
export function x25519SharedSecret(privateKey: KeyObject, peerPublicRaw: Uint8Array): Buffer {
  const priv = akey(privateKey, 'privateKey', 'private', 'x25519');
  const der = Buffer.concat([X25519_SPKI_PREFIX, abytes(peerPublicRaw, 'peerPublicRaw', X25519_KEY_BYTES)]);
  let shared: Buffer | undefined;
  try {
    const publicKey = nc.createPublicKey({ key: der, format: 'der', type: 'spki' });
    shared = nc.diffieHellman({ privateKey: priv, publicKey });
  } catch { /* OpenSSL fails the derivation itself on an all-zero result; nothing else fails here */ }
  if (!shared || shared.every((b) => b === 0)) { // our own check too, should OpenSSL ever stop
    throw new ProtocolError('crypto.low_order_point', 'X25519 shared secret is all zero (low-order public key)');
  }
  return shared;
}

// ---- encodings and comparisons ---------------------------------------------------------------

/**
 * A fingerprint as typed, pasted or stored ("3f2a:9c01…", "3F2A 9C01 …") in one form for
 * comparing: no spaces or colons, uppercase hex. The one place fingerprints are normalized.
 */
export function normalizeFingerprint(value: string): string {
  return value.replace(/[\s:]/g, '').toUpperCase();
}

/** SHA-256 of the SPKI DER, e.g. "3F2A 9C01 … " (16 groups of 4 uppercase hex digits). */
export function fingerprint(spkiDer: Uint8Array): string {
  return sha256(abytes(spkiDer, 'spkiDer')).toString('hex').toUpperCase().match(/.{4}/g)!.join(' ');
}

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  abytes(a, 'a'); abytes(b, 'b');
  return a.length === b.length && nc.timingSafeEqual(a, b);
}

export function toBase64Url(b: Uint8Array): string {
  return Buffer.from(abytes(b, 'b')).toString('base64url');
}

/** Strict: only the base64url alphabet, no padding, canonical trailing bits, optional exact length. */
export function fromBase64Url(s: string, expectedLength?: number): Buffer {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) {
    throw new TypeError('value must be unpadded base64url');
  }
  const out = Buffer.from(s, 'base64url');
  if (out.toString('base64url') !== s) throw new TypeError('value must be canonical base64url');
  if (expectedLength !== undefined && out.length !== expectedLength) {
    throw new TypeError(`value must decode to ${expectedLength} bytes, got ${out.length}`);
  }
  return out;
}
