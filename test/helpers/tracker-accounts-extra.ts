// More helpers for the tracker suites (accounts, presence, persistence, secrets, cli): register
// with exact parameters, signed room events, the tracker's admin commands as child processes,
// and read-only looks into a stopped or running tracker's SQLite file.

import { teardownStack } from './teardown.ts';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { randomBytes, toBase64Url } from '../../protocol/crypto.ts';
import {
  deriveRoomPasswordKeys,
  joinProof,
  signRoomEvent,
  type RoomEvent,
  type UnsignedRoomEvent,
} from '../../protocol/room-log.ts';
import type { RoomSummary } from '../../protocol/tracker.ts';
import type { TrackerConnection } from '../../peer/tracker-connection.ts';
import { encryptKeyBlob } from '../../peer/account.ts';
import {
  FAST_SCRYPT_PARAMS,
  cachedAccountKeys,
  defaultPassword,
  identityFor,
  loginUser,
  testSalt,
  type AccountOptions,
  type RegisteredUser,
} from './accounts.ts';
import { REPO_ROOT, type TrackerProcess } from './tracker-process.ts';

/** Account options for suites that do not test scrypt: the tracker only ever sees the authKey. */
export const FAST: AccountOptions = Object.freeze({ scryptParams: FAST_SCRYPT_PARAMS });

/**
 * register with every field given separately, so a test can send what the real client never
 * would: a name that differs from the one the identity certifies, or the name in another case.
 */
export async function registerAs(
  conn: TrackerConnection,
  opts: { user: string; identityUser?: string; password?: string },
): Promise<RegisteredUser> {
  const identityUser = opts.identityUser ?? opts.user;
  const password = opts.password ?? defaultPassword(identityUser);
  const salt = testSalt(identityUser, password);
  const [identity, keys] = await Promise.all([identityFor(identityUser), cachedAccountKeys(password, salt, FAST_SCRYPT_PARAMS)]);
  const keyBlob = encryptKeyBlob(keys.keyKey, identityUser, identity);
  await conn.request('register', {
    user: opts.user,
    salt: toBase64Url(salt),
    authKey: toBase64Url(keys.authKey),
    identity: identity.identity,
    keyBlob,
  });
  return { user: identityUser, password, salt, keys, identity, keyBlob };
}

// ---- rooms -----------------------------------------------------------------------------------

export interface CreatedRoom {
  room: RoomSummary;
  create: RoomEvent;
  /** For a private room: the check value sent to the tracker, and the proof key of joins. */
  check?: string;
  proofKey?: Buffer;
}

export async function createRoom(
  conn: TrackerConnection,
  owner: RegisteredUser,
  name: string,
  opts: { password?: string } = {},
): Promise<CreatedRoom> {
  const salt = toBase64Url(randomBytes(16));
  const unsigned: UnsignedRoomEvent = {
    v: 1,
    room: '',
    seq: 0,
    prev: '',
    type: 'create',
    actor: owner.user,
    time: Date.now(),
    name,
    private: opts.password !== undefined,
    salt,
  };
  const create = signRoomEvent(unsigned, owner.identity.signing.privateKey);
  if (opts.password === undefined) {
    const { room } = await conn.request('create_room', { event: create });
    return { room, create };
  }
  const { check, proofKey } = await deriveRoomPasswordKeys(opts.password, salt, FAST_SCRYPT_PARAMS);
  const { room } = await conn.request('create_room', { event: create, check });
  return { room, create, check, proofKey };
}

/** A signed event that follows `room`'s head (join, leave, kick or close). */
export function nextRoomEvent(
  room: RoomSummary,
  actor: RegisteredUser,
  type: 'join' | 'leave' | 'kick' | 'close',
  opts: { subject?: string; proofKey?: Buffer } = {},
): RoomEvent {
  const unsigned: UnsignedRoomEvent = {
    v: 1,
    room: room.id,
    seq: room.head.seq + 1,
    prev: room.head.hash,
    type,
    actor: actor.user,
    time: Date.now(),
    ...(opts.subject ? { subject: opts.subject } : {}),
  };
  if (opts.proofKey) unsigned.proof = joinProof(unsigned, opts.proofKey);
  return signRoomEvent(unsigned, actor.identity.signing.privateKey);
}

// ---- the database, read directly ---------------------------------------------------------------

/** Rows of a query on a tracker's database, opened read-only (the tracker may be running: WAL). */
export async function queryDb<T = Record<string, unknown>>(dbPath: string, sql: string, ...params: unknown[]): Promise<T[]> {
  const db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(dbPath, sqlite3.OPEN_READONLY, (err) => (err ? reject(err) : resolve(d)));
  });
  try {
    return await new Promise<T[]>((resolve, reject) => db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
  } finally {
    await new Promise<void>((resolve) => db.close(() => resolve()));
  }
}

// ---- `node tracker` as a command -------------------------------------------------------------

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node tracker ARGS` to completion (admin commands, --help, refused flags). */
export function runTrackerCli(args: string[], opts: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('P2P_TRACKER_')) env[k] = v;
  Object.assign(env, opts.env);
  const child = spawn(process.execPath, [join(REPO_ROOT, 'tracker'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node tracker ${args.join(' ')} did not exit within ${opts.timeoutMs ?? 20_000} ms\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 20_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

// ---- suites that share one tracker -----------------------------------------------------------

/**
 * Teardown for a tracker started in a describe block's `before` hook: startTracker registers its
 * cleanup here, and `runAll` (passed to the block's `after`) runs it, newest first.
 */
export function suiteTeardown(): { teardown: { after(fn: () => unknown): void }; runAll(): Promise<void> } {
  const stack = teardownStack((err) => {
    throw err;
  });
  return { teardown: stack, runAll: () => stack.runAll() };
}

/**
 * After a refused request: the tracker still serves a normal client. A fresh connection logs
 * `user` in with its password (prelogin, bcrypt, key blob) and lists peers; returns the session.
 */
export async function assertServes(tracker: TrackerProcess, user: RegisteredUser): Promise<void> {
  const conn = await tracker.connect();
  try {
    const session = await loginUser(conn, user.user, { ...FAST, password: user.password });
    if (session.session.user !== user.user) throw new Error(`logged in as ${session.session.user}, not ${user.user}`);
    const { peers } = await conn.request('list_peers', {});
    if (!peers.some((p) => p.user === user.user && p.online)) throw new Error(`${user.user} is not listed online after logging in`);
  } finally {
    await conn.close();
  }
}

/** A connection to `tracker` closed when test `t` ends (trackers shared by a suite allow 32 per address). */
export async function connectFor(t: { after(fn: () => unknown): void }, tracker: TrackerProcess, opts?: Parameters<TrackerProcess['connect']>[0]): Promise<TrackerConnection> {
  const conn = await tracker.connect(opts);
  t.after(() => conn.close());
  return conn;
}
