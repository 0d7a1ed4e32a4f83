// Accounts for tests, made the way the real client makes them (prelogin, scrypt, HKDF, register,
// login) but fast: RSA keys and scrypt results are cached per user in this process, and a
// user's salt is derived from the name and password instead of drawn at random, so the same
// user in many suites costs one scrypt. The real client always uses a random salt
// (newAccountSalt) and always SCRYPT_PARAMS; `scryptParams: FAST_SCRYPT_PARAMS` is for bulk
// tests only (the tracker never sees the parameters, only the authKey).

import { SCRYPT_PARAMS, sha256, toBase64Url, fromBase64Url } from '../../protocol/crypto.ts';
import type { TrackerResult } from '../../protocol/tracker.ts';
import {
  ACCOUNT_SALT_BYTES,
  createIdentityKeys,
  decryptKeyBlob,
  deriveAccountKeys,
  encryptKeyBlob,
  keysMatchIdentity,
  type AccountKeys,
  type IdentityKeys,
  type ScryptParams,
  type UserKeys,
} from '../../peer/account.ts';
import type { TrackerConnection } from '../../peer/tracker-connection.ts';

/** Cheap enough for hundreds of users; never use outside tests. */
export const FAST_SCRYPT_PARAMS: ScryptParams = Object.freeze({ N: 2 ** 10, r: 8, p: 1, maxmem: 32 * 1024 * 1024 });

export interface AccountOptions {
  /** 15+ characters, so the client policy would accept it. Default: derived from the name. */
  password?: string;
  /** Default: SCRYPT_PARAMS, as the real client. */
  scryptParams?: ScryptParams;
  /** Default: derived from user and password (see above). Only register uses it. */
  salt?: Buffer;
  /** Advertised peer port at login. */
  peerPort?: number;
  /** The device id sent at login (none: a client older than devices). */
  device?: string;
}

export interface RegisteredUser {
  user: string;
  password: string;
  salt: Buffer;
  keys: AccountKeys;
  identity: IdentityKeys;
  keyBlob: string;
}

export interface LoggedInUser extends RegisteredUser {
  session: TrackerResult<'login'>;
  token: string;
  /** The private keys as unlocked from the blob the tracker returned (checked against identity). */
  unlocked: UserKeys;
}

const identities = new Map<string, Promise<IdentityKeys>>();
const derived = new Map<string, Promise<AccountKeys>>();

export function defaultPassword(user: string): string {
  return `${user} tangerine rooftop violin`;
}

/** RSA keys generated once per user name in this process. */
export function identityFor(user: string): Promise<IdentityKeys> {
  let p = identities.get(user);
  if (!p) {
    p = createIdentityKeys(user);
    identities.set(user, p);
    p.catch(() => identities.delete(user));
  }
  return p;
}

/** deriveAccountKeys, memoized on (password, salt, params). */
export function cachedAccountKeys(password: string, salt: Uint8Array, params: ScryptParams = SCRYPT_PARAMS): Promise<AccountKeys> {
  const key = JSON.stringify([password, toBase64Url(salt), params.N, params.r, params.p, params.maxmem]);
  let p = derived.get(key);
  if (!p) {
    p = deriveAccountKeys(password, salt, params);
    derived.set(key, p);
    p.catch(() => derived.delete(key));
  }
  return p;
}

export function testSalt(user: string, password: string): Buffer {
  return sha256(Buffer.from(`p2p-chat test salt\0${user}\0${password}`, 'utf8')).subarray(0, ACCOUNT_SALT_BYTES);
}

export async function registerUser(conn: TrackerConnection, user: string, opts: AccountOptions = {}): Promise<RegisteredUser> {
  const password = opts.password ?? defaultPassword(user);
  const salt = opts.salt ?? testSalt(user, password);
  const [identity, keys] = await Promise.all([identityFor(user), cachedAccountKeys(password, salt, opts.scryptParams)]);
  const keyBlob = encryptKeyBlob(keys.keyKey, user, identity);
  await conn.request('register', {
    user,
    salt: toBase64Url(salt),
    authKey: toBase64Url(keys.authKey),
    identity: identity.identity,
    keyBlob,
  });
  return { user, password, salt, keys, identity, keyBlob };
}

/** prelogin for the salt, derive, login, then unlock the returned blob as the real client does. */
export async function loginUser(
  conn: TrackerConnection,
  user: string,
  opts: AccountOptions = {},
): Promise<LoggedInUser> {
  const password = opts.password ?? defaultPassword(user);
  const { salt: saltText } = await conn.request('prelogin', { user });
  const salt = fromBase64Url(saltText, ACCOUNT_SALT_BYTES);
  const [identity, keys] = await Promise.all([identityFor(user), cachedAccountKeys(password, salt, opts.scryptParams)]);
  const session = await conn.request('login', { user, authKey: toBase64Url(keys.authKey), peerPort: opts.peerPort ?? 0, ...(opts.device ? { device: opts.device } : {}) });
  const unlocked = decryptKeyBlob(keys.keyKey, session.user, session.keyBlob);
  if (!keysMatchIdentity(unlocked, session.identity)) {
    throw new Error(`the tracker returned keys for ${user} that do not match its identity`);
  }
  return { user, password, salt, keys, identity, keyBlob: session.keyBlob, session, token: session.token, unlocked };
}

export async function registerAndLogin(conn: TrackerConnection, user: string, opts: AccountOptions = {}): Promise<LoggedInUser> {
  await registerUser(conn, user, opts);
  return loginUser(conn, user, opts);
}
