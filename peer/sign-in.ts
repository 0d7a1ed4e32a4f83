// Accounts against the tracker (DESIGN.md "Accounts"): registering, logging in with the password
// (keys decrypted from the tracker's blob and checked against the identity), and resuming a saved
// session with its token. Each returns what the engine needs to begin: the session, my keys, the
// peer port told to the tracker. Nothing here keeps state between calls.

import { createPublicKey } from 'node:crypto';
import { createServer } from 'node:net';
import { exportPrivateKey, fromBase64Url, importPrivateKey, toBase64Url } from '../protocol/crypto.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { normalizeUserName } from '../protocol/names.ts';
import {
  checkPasswordPolicy,
  createIdentityKeys,
  decryptKeyBlob,
  deriveAccountKeys,
  encryptKeyBlob,
  keysMatchIdentity,
  newAccountSalt,
  type ScryptParams,
  type UserKeys,
} from './account.ts';
import type { AccountStore, DataFolder } from './data-folder.ts';
import type { SessionResult, TrackerSession } from './tracker-session.ts';

export interface SignInParts {
  tracker: TrackerSession;
  data: DataFolder;
  accounts: AccountStore;
  scryptParams?: ScryptParams;
  /** The peer port to listen on (0: a free one is picked) and the one told to the tracker, if different. */
  peerPort?: number;
  peerHost?: string;
  advertisePort?: number;
}

export interface SignedIn {
  session: SessionResult;
  keys: UserKeys;
  /** The port to listen on. */
  port: number;
  /**
   * Lets the port go: a port picked here stays held from then (it is told to the tracker) until
   * the engine is about to listen on it, so no other program takes it meanwhile. Idempotent.
   */
  freePort: () => Promise<void>;
}

/** Registers an account (keys made here, the private ones sealed under the password). Throws the tracker's ProtocolError. */
export async function register(parts: SignInParts, rawUser: string, password: string): Promise<void> {
  const { tracker, data } = parts;
  const user = normalizeUserName(rawUser);
  checkPasswordPolicy(password, user);
  await tracker.connect();
  const salt = newAccountSalt();
  const [derived, identityKeys] = await Promise.all([deriveAccountKeys(password, salt, parts.scryptParams), createIdentityKeys(user)]);
  await tracker.request('register', {
    user,
    salt: toBase64Url(salt),
    authKey: toBase64Url(derived.authKey),
    identity: identityKeys.identity,
    keyBlob: encryptKeyBlob(derived.keyKey, user, identityKeys),
  });
  data.setSalt(tracker.address, user, toBase64Url(salt));
}

/** Logs in with the password and saves the account (token and keys) for resume. Throws 'auth.salt_changed', 'auth.bad_credentials'. */
export async function logIn(parts: SignInParts, rawUser: string, password: string): Promise<SignedIn> {
  const { tracker, data } = parts;
  const user = normalizeUserName(rawUser);
  await tracker.connect();
  const { salt } = await tracker.request('prelogin', { user });
  const cached = data.salt(tracker.address, user);
  if (cached && cached !== salt) {
    throw new ProtocolError('auth.salt_changed', `the tracker gave a different salt for ${user} than before; if you changed your password on another machine, delete salts.json in ${data.root}, otherwise do not trust this tracker`);
  }
  const derived = await deriveAccountKeys(password, fromBase64Url(salt), parts.scryptParams);
  const { port, free } = await reservePort(parts);
  try {
    const session = await tracker.start('login', { user, authKey: toBase64Url(derived.authKey), peerPort: parts.advertisePort ?? port, device: data.deviceId() });
    const keys = decryptKeyBlob(derived.keyKey, session.user, session.keyBlob);
    if (!keysMatchIdentity(keys, session.identity)) throw new ProtocolError('auth.bad_credentials', 'the tracker returned keys that do not match your identity');
    data.setSalt(tracker.address, user, salt);
    await parts.accounts.save({ user: session.user, tracker: tracker.address, token: session.token, signingKey: toBase64Url(exportPrivateKey(keys.signing.privateKey)), encryptionKey: toBase64Url(exportPrivateKey(keys.encryption.privateKey)) });
    return { session, keys, port, freePort: free };
  } catch (err) {
    await free();
    throw err;
  }
}

/** Resumes the saved account with its token; undefined when there is none for this tracker or the token was refused (then forgotten). */
export async function resume(parts: SignInParts, rawUser?: string): Promise<SignedIn | undefined> {
  const { tracker } = parts;
  const saved = await parts.accounts.load(rawUser ? normalizeUserName(rawUser) : undefined);
  if (!saved || saved.tracker !== tracker.address) return undefined;
  const signing = importPrivateKey(fromBase64Url(saved.signingKey));
  const encryption = importPrivateKey(fromBase64Url(saved.encryptionKey));
  const keys: UserKeys = {
    signing: { privateKey: signing, publicKey: createPublicKey(signing) },
    encryption: { privateKey: encryption, publicKey: createPublicKey(encryption) },
  };
  const { port, free } = await reservePort(parts);
  let session: SessionResult;
  try {
    session = await tracker.start('resume', { token: saved.token, peerPort: parts.advertisePort ?? port, device: parts.data.deviceId() });
  } catch (err) {
    await free();
    if (err instanceof ProtocolError && err.code === 'auth.bad_token') {
      await parts.accounts.forget(saved.user);
      await tracker.stop();
      return undefined;
    }
    throw err;
  }
  if (!keysMatchIdentity(keys, session.identity)) {
    await free();
    throw new ProtocolError('auth.bad_credentials', 'the saved keys do not match your identity on the tracker');
  }
  return { session, keys, port, freePort: free };
}

/**
 * The port to listen on: the configured one, or for port 0 a free one, held by a listener until
 * `free` (before, it was let go at once and another program could take it during the sign-in:
 * `listen EADDRINUSE` at the end of a login, seen in the bench). A peer that connects meanwhile
 * is closed at once, as a refused connection would be, and tries again.
 */
async function reservePort(parts: SignInParts): Promise<{ port: number; free: () => Promise<void> }> {
  const wanted = parts.peerPort ?? 0;
  if (wanted !== 0) return { port: wanted, free: async () => {} };
  const probe = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen(0, parts.peerHost ?? '0.0.0.0', () => resolve());
  });
  const { port } = probe.address() as { port: number };
  let freed: Promise<void> | undefined;
  return { port, free: () => (freed ??= new Promise<void>((resolve) => probe.close(() => resolve()))) };
}
