// Accounts. The tracker never receives a password: clients send an authKey derived from it
// (scrypt, then HKDF), stored as bcrypt(base64url(authKey)). The encrypted key blob is wrapped
// once more under the tracker secret, and resume tokens are stored as SHA-256 hashes, so the
// database alone reveals neither.

import bcrypt from 'bcrypt';
import { availableParallelism } from 'node:os';
import type { KeyObject } from 'node:crypto';
import { LABELS, fromBase64Url, hkdfSha256, hmacSha256, open, randomBytes, seal, sha256, toBase64Url } from '../protocol/crypto.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { checkIdentity, type Identity } from '../protocol/identity.ts';
import { checkNewUserName, nameSkeleton, normalizeUserName } from '../protocol/names.ts';
import { MAX_SESSIONS_PER_USER, type RequestParams } from '../protocol/tracker.ts';
import { isUniqueViolation, type Database } from './db.ts';
import { FailureLimiter, FairSlots, GrowingDelay, type Clock } from './rate-limit.ts';

export const TOKEN_LIFETIME_MS = 30 * 24 * 3600 * 1000;
/** A (name, address) that logged in goes ahead of that address's other logins for this long. */
const KNOWN_PAIR_MS = 30 * 24 * 3600 * 1000;
/** Addresses remembered per user (the most recent), so the table cannot grow without bound. */
export const KNOWN_ADDRESSES_PER_USER = 20;
/**
 * bcrypt runs on libuv's thread pool (4 threads), as do SQLite's statements: a login herd with
 * every thread busy hashing would leave no thread for the database, and no login would be
 * answered until all were hashed. At most one hash per core runs at once; the rest wait here,
 * one queue per address, served in turn (FairSlots): an address guessing names gets its share of
 * bcrypt and no more, and nobody is locked out by it. A request per connection at a time and
 * --max-conns-per-address bound what one address can queue; this bound is a last resort.
 */
const BCRYPT_SLOTS = Math.max(1, Math.min(3, availableParallelism()));
const BCRYPT_WAITING_PER_ADDRESS = 256;

export interface UserKeys {
  identity: Identity;
  fingerprint: string;
  signingKey: KeyObject;
}

export interface Session {
  user: string;
  token: string;
  keyBlob: string;
  identity: Identity;
}

interface UserRow {
  name: string;
  salt: Buffer;
  auth_hash: string;
  signing_key: Buffer;
  encryption_key: Buffer;
  encryption_key_sig: Buffer;
  fingerprint: string;
  key_blob: Buffer;
}

const BAD_CREDENTIALS = 'wrong user name or password';

export interface AccountOptions {
  bcryptCost: number;
  /** Failed logins of one name from one address before its delays start. */
  failedLoginsPerUser: number;
  /** The first delay after those; it doubles with each further failure, up to failedLoginMaxDelayMs. */
  failedLoginDelayMs?: number;
  failedLoginMaxDelayMs?: number;
  registrationsPerAddress?: number;
  clock?: Clock;
}

const bcryptSlots = new FairSlots(BCRYPT_SLOTS, BCRYPT_WAITING_PER_ADDRESS);

function withBcryptSlot<T>(address: string, work: () => Promise<T>, urgent = false): Promise<T> {
  return bcryptSlots.run(address, work, {
    urgent,
    full: () => new ProtocolError('server.busy', `too many logins from ${address} are waiting for the tracker; retry in a moment`, 1000),
  });
}

export class Accounts {
  private readonly blobKey: Buffer;
  private readonly keyCache = new Map<string, UserKeys>();
  /** Every account's fingerprint, for presence lists without a query per login. */
  private readonly directory = new Map<string, string>();
  private sortedNames: string[] | null = null;
  /**
   * Failed logins are slowed per (name, address), never per name alone: a stranger's wrong
   * passwords for alice delay the stranger, not alice at her own address.
   */
  private readonly perPair: GrowingDelay;
  /** Accounts created per address (only those created: a refused name costs nothing here). */
  private readonly registrations: FailureLimiter;
  private readonly clock: Clock;
  private dummyHash?: Promise<string>;

  constructor(
    private readonly db: Database,
    private readonly secret: Buffer,
    private readonly opts: AccountOptions,
  ) {
    this.clock = opts.clock ?? Date;
    this.blobKey = hkdfSha256(secret, Buffer.alloc(0), LABELS.trackerBlobWrap, 32);
    this.perPair = new GrowingDelay(
      { free: opts.failedLoginsPerUser, baseMs: opts.failedLoginDelayMs ?? 1000, maxMs: opts.failedLoginMaxDelayMs ?? 15 * 60_000 },
      this.clock,
    );
    const perHour = opts.registrationsPerAddress ?? 100;
    this.registrations = new FailureLimiter(perHour, 3_600_000 / perHour, this.clock);
  }

  /**
   * Checks that the secret file belongs to this database (a value derived from it is stored in
   * the database). Without this, a database moved without its secret answers every login with
   * a decryption failure that tells nobody what is wrong.
   */
  async checkSecret(): Promise<void> {
    const value = hmacSha256(this.secret, Buffer.from('p2p-chat/v1/secret-check')).toString('hex');
    const stored = await this.db.get<{ value: string }>("SELECT value FROM meta WHERE key = 'secret_check'");
    if (!stored) {
      await this.db.run("INSERT INTO meta (key, value) VALUES ('secret_check', ?)", value);
      return;
    }
    if (stored.value !== value) {
      throw new SecretMismatchError(
        'tracker.secret does not belong to this database: the key blobs in it cannot be opened, so nobody could log in. ' +
          'Put back the tracker.secret that was beside this database (restore it from your backup), or start with a new database.',
      );
    }
  }

  async load(): Promise<void> {
    for (const row of await this.db.all<{ name: string; fingerprint: string }>('SELECT name, fingerprint FROM users ORDER BY name')) {
      this.directory.set(row.name, row.fingerprint);
      this.sortedNames = null;
    }
  }

  /**
   * Makes the dummy hash of unknown-name logins ahead of time: made at the first such login, it
   * would make that answer take two bcrypt runs instead of one, telling the name apart.
   */
  warmUp(): Promise<unknown> {
    return this.dummy();
  }

  /** Every account's name, sorted (for pages of list_peers). */
  names(): readonly string[] {
    return (this.sortedNames ??= [...this.directory.keys()].sort());
  }

  fingerprintOf(user: string): string | undefined {
    return this.directory.get(user);
  }

  /** The user's salt, or for an unknown name a stable fake one, so names cannot be probed. */
  async prelogin(rawUser: string): Promise<string> {
    const user = normalizeUserName(rawUser);
    const row = await this.db.get<{ salt: Buffer }>('SELECT salt FROM users WHERE name = ?', user);
    const salt = row?.salt ?? hmacSha256(this.secret, Buffer.from(`${LABELS.fakeSalt}\0${user}`)).subarray(0, 16);
    return toBase64Url(salt);
  }

  async register(p: RequestParams<'register'>, address = 'unknown'): Promise<string> {
    const user = checkNewUserName(p.user);
    const skeleton = nameSkeleton(user);
    // The cheap checks first: a taken name or bad keys cost no account of the address's quota.
    await this.refuseLookalike(user, skeleton);
    const checked = checkIdentity(user, p.identity);
    const wait = this.registrations.retryAfter(address);
    if (wait > 0) throw new ProtocolError('rate_limited', `too many new accounts from ${address}; try again in ${Math.ceil(wait / 1000)} s`, wait);
    const authHash = await withBcryptSlot(address, () => bcrypt.hash(p.authKey, this.opts.bcryptCost));
    try {
      await this.db.run(
        `INSERT INTO users (name, salt, auth_hash, signing_key, encryption_key, encryption_key_sig, fingerprint, key_blob, created, skeleton)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        user,
        fromBase64Url(p.salt, 16),
        authHash,
        fromBase64Url(p.identity.signingKey),
        fromBase64Url(p.identity.encryptionKey),
        fromBase64Url(p.identity.encryptionKeySig),
        checked.fingerprint,
        this.wrapBlob(user, p.keyBlob),
        this.clock.now(),
        skeleton,
      );
    } catch (err) {
      // The name itself, or a look-alike registered meanwhile (the unique skeleton index).
      if (isUniqueViolation(err)) {
        await this.refuseLookalike(user, skeleton);
        throw new ProtocolError('auth.user_exists', `the name ${user} is taken or too close to a taken one; pick another`);
      }
      throw err;
    }
    // Only an account actually created is charged to the address.
    this.registrations.fail(address);
    // The name may have belonged to an account deleted by `node tracker users delete` (another
    // process): keys cached for that account are not this one's.
    this.keyCache.delete(user);
    this.directory.set(user, checked.fingerprint);
    this.sortedNames = null;
    return user;
  }

  async login(rawUser: string, authKey: string, address: string): Promise<Session> {
    const user = normalizeUserName(rawUser);
    const pair = `${user}\0${address}`;
    const pairWait = this.perPair.retryAfter(pair);
    if (pairWait > 0) {
      throw new ProtocolError('rate_limited', `too many failed logins as ${user} from ${address}; try again in ${Math.ceil(pairWait / 1000)} s`, pairWait);
    }
    const known = await this.isKnownPair(user, address);
    const row = await this.db.get<UserRow>('SELECT * FROM users WHERE name = ?', user);
    // Compare against a dummy hash for unknown names, so the answer takes as long either way.
    const stored = row?.auth_hash ?? (await this.dummy());
    const ok = await withBcryptSlot(address, () => bcrypt.compare(authKey, stored), known);
    if (!row || !ok) {
      this.perPair.fail(pair);
      throw new ProtocolError('auth.bad_credentials', BAD_CREDENTIALS);
    }
    this.perPair.succeed(pair);
    await this.rememberPair(user, address);
    return this.session(row, await this.issueToken(user));
  }

  async resume(token: string): Promise<Session> {
    const row = await this.db.get<UserRow>(
      'SELECT users.* FROM tokens JOIN users ON users.name = tokens.user WHERE tokens.hash = ? AND tokens.expires > ?',
      hashToken(token),
      this.clock.now(),
    );
    if (!row) throw new ProtocolError('auth.bad_token', 'this session has ended or was revoked; log in with your password');
    return this.session(row, token);
  }

  async logout(token: string): Promise<void> {
    await this.db.run('DELETE FROM tokens WHERE hash = ?', hashToken(token));
  }

  /** Checks the current authKey, stores the new one and blob, and revokes every other token. */
  async changePassword(user: string, p: RequestParams<'change_password'>): Promise<string> {
    const row = await this.db.get<UserRow>('SELECT * FROM users WHERE name = ?', user);
    if (!row || !(await withBcryptSlot(`user ${user}`, () => bcrypt.compare(p.authKey, row.auth_hash)))) {
      throw new ProtocolError('auth.bad_credentials', 'the current password is wrong');
    }
    const authHash = await withBcryptSlot(`user ${user}`, () => bcrypt.hash(p.newAuthKey, this.opts.bcryptCost));
    await this.db.run(
      'UPDATE users SET salt = ?, auth_hash = ?, key_blob = ? WHERE name = ?',
      fromBase64Url(p.newSalt, 16),
      authHash,
      this.wrapBlob(user, p.newKeyBlob),
      user,
    );
    await this.revokeTokens(user);
    return this.issueToken(user);
  }

  async revokeTokens(user: string): Promise<number> {
    return (await this.db.run('DELETE FROM tokens WHERE user = ?', user)).changes;
  }

  async deleteUser(user: string): Promise<boolean> {
    this.keyCache.delete(user);
    this.directory.delete(user);
    this.sortedNames = null;
    return (await this.db.run('DELETE FROM users WHERE name = ?', user)).changes > 0;
  }

  async listUsers(): Promise<{ name: string; fingerprint: string; created: number; tokens: number }[]> {
    return this.db.all(
      `SELECT name, fingerprint, created, (SELECT COUNT(*) FROM tokens WHERE tokens.user = users.name) AS tokens
       FROM users ORDER BY name`,
    );
  }

  /** Public keys of a user (cached: they never change for an account). */
  async keysOf(user: string): Promise<UserKeys | undefined> {
    const cached = this.keyCache.get(user);
    if (cached) return cached;
    const row = await this.db.get<UserRow>('SELECT * FROM users WHERE name = ?', user);
    if (!row) return undefined;
    const identity = identityOf(row);
    const keys = { identity, fingerprint: row.fingerprint, signingKey: checkIdentity(user, identity).signingKey };
    this.keyCache.set(user, keys);
    return keys;
  }

  /** Whether `user` logged in from `address` within KNOWN_PAIR_MS (kept in the database, so a restart forgets nobody). */
  private async isKnownPair(user: string, address: string): Promise<boolean> {
    const row = await this.db.get('SELECT 1 FROM known_logins WHERE user = ? AND address = ? AND last > ?', user, address, this.clock.now() - KNOWN_PAIR_MS);
    return row !== undefined;
  }

  /** Remembers a successful login's address: the KNOWN_ADDRESSES_PER_USER most recent per user. */
  private async rememberPair(user: string, address: string): Promise<void> {
    await this.db.run('INSERT INTO known_logins (user, address, last) VALUES (?, ?, ?) ON CONFLICT (user, address) DO UPDATE SET last = excluded.last', user, address, this.clock.now());
    await this.db.run(
      `DELETE FROM known_logins WHERE user = ? AND address NOT IN
         (SELECT address FROM known_logins WHERE user = ? ORDER BY last DESC, rowid DESC LIMIT ?)`,
      user,
      user,
      KNOWN_ADDRESSES_PER_USER,
    );
  }

  private session(row: UserRow, token: string): Session {
    return { user: row.name, token, keyBlob: this.unwrapBlob(row.name, row.key_blob), identity: identityOf(row) };
  }

  private async issueToken(user: string): Promise<string> {
    const token = toBase64Url(randomBytes(32));
    const now = this.clock.now();
    await this.db.run('INSERT INTO tokens (hash, user, created, expires) VALUES (?, ?, ?, ?)', hashToken(token), user, now, now + TOKEN_LIFETIME_MS);
    // Every login makes a row: a quota, so logging in forever cannot grow the table. Expired
    // tokens go too.
    await this.db.run(
      `DELETE FROM tokens WHERE user = ? AND (expires <= ? OR hash NOT IN
         (SELECT hash FROM tokens WHERE user = ? ORDER BY created DESC, rowid DESC LIMIT ?))`,
      user,
      now,
      user,
      MAX_SESSIONS_PER_USER,
    );
    return token;
  }

  /**
   * Refuses a new name equal to, or a look-alike of, an existing one (auth.user_exists): one
   * lookup in the database (primary key, unique skeleton index), which an admin command in another
   * process may have changed.
   */
  private async refuseLookalike(user: string, skeleton: string): Promise<void> {
    const row = await this.db.get<{ name: string }>('SELECT name FROM users WHERE name = ? OR skeleton = ? ORDER BY name = ? DESC LIMIT 1', user, skeleton, user);
    if (!row) return;
    if (row.name === user) throw new ProtocolError('auth.user_exists', `the name ${user} is taken; pick another`);
    throw new ProtocolError('auth.user_exists', `the name ${user} looks too much like the existing user ${row.name}; pick a name that does not`);
  }

  private wrapBlob(user: string, blob: string): Buffer {
    return seal(this.blobKey, fromBase64Url(blob), Buffer.from(`${LABELS.trackerBlobWrap}\0${user}`));
  }

  private unwrapBlob(user: string, wrapped: Buffer): string {
    return toBase64Url(open(this.blobKey, wrapped, Buffer.from(`${LABELS.trackerBlobWrap}\0${user}`)));
  }

  private dummy(): Promise<string> {
    return (this.dummyHash ??= bcrypt.hash(toBase64Url(randomBytes(32)), this.opts.bcryptCost));
  }
}

function identityOf(row: UserRow): Identity {
  return {
    signingKey: toBase64Url(row.signing_key),
    encryptionKey: toBase64Url(row.encryption_key),
    encryptionKeySig: toBase64Url(row.encryption_key_sig),
  };
}

export class SecretMismatchError extends Error {}

export function hashToken(token: string): string {
  return sha256(Buffer.from(token, 'utf8')).toString('hex');
}
