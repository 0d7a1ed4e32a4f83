// Rooms against a real tracker, built the way a client builds them (protocol/room-log.ts): users
// who are registered and logged in on their own connection, and signed create, join, leave, kick
// and close events on the room's current head. Also raw-socket helpers for the bad-input and
// limits suites, and `expectServing`: after each bad case, a fresh client still gets served.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import type { KeyObject } from 'node:crypto';
import * as tls from 'node:tls';
import { randomBytes, toBase64Url } from '../../protocol/crypto.ts';
import { FrameDecoder, TRACKER_RESPONSE_LIMIT, encodeFrame } from '../../protocol/frame.ts';
import {
  deriveRoomPasswordKeys,
  eventHash,
  joinProof,
  signRoomEvent,
  type RoomEvent,
  type RoomEventType,
  type RoomHead,
  type RoomPasswordKeys,
  type UnsignedRoomEvent,
} from '../../protocol/room-log.ts';
import type { RoomSummary } from '../../protocol/tracker.ts';
import type { TrackerConnection } from '../../peer/tracker-connection.ts';
import {
  FAST_SCRYPT_PARAMS,
  cachedAccountKeys,
  defaultPassword,
  identityFor,
  loginUser,
  registerAndLogin,
  testSalt,
  type LoggedInUser,
} from './accounts.ts';
import { FAST_TRACKER_ARGS, startTracker, type Teardown, type TrackerProcess } from './tracker-process.ts';

/** Room password scrypt, cheap for tests; real clients use SCRYPT_PARAMS (never from the network). */
export const FAST_ROOM_SCRYPT = Object.freeze({ N: 2 ** 10, r: 8, p: 1, maxmem: 32 * 1024 * 1024 });

export interface Member {
  user: string;
  conn: TrackerConnection;
  /** The user's signing private key (from the helper's cached identity keys). */
  key: KeyObject;
  login: LoggedInUser;
}

/**
 * RSA keys and scrypt before connecting: they are cached, and a connection must log in within
 * the tracker's --auth-timeout, which key generation on a loaded machine could exceed.
 */
export async function warmUp(user: string): Promise<void> {
  const password = defaultPassword(user);
  await Promise.all([identityFor(user), cachedAccountKeys(password, testSalt(user, password), FAST_SCRYPT_PARAMS)]);
}

let counter = 0;
/** A user or room name unique in this process: `prefix` plus a counter (names are 3-32 of [a-z0-9._-]). */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}${counter}`.slice(0, 32);
}

/** Registers `user` (fast scrypt) on a new connection and logs in there. */
export async function onlineMember(tracker: TrackerProcess, user: string): Promise<Member> {
  await warmUp(user);
  const conn = await tracker.connect({ heartbeatMs: 0 });
  const login = await registerAndLogin(conn, user, { scryptParams: FAST_SCRYPT_PARAMS });
  return { user, conn, key: login.unlocked.signing.privateKey, login };
}

/** Logs an already registered user in on a new connection. */
export async function reconnectMember(tracker: TrackerProcess, user: string): Promise<Member> {
  await warmUp(user);
  const conn = await tracker.connect({ heartbeatMs: 0 });
  const login = await loginUser(conn, user, { scryptParams: FAST_SCRYPT_PARAMS });
  return { user, conn, key: login.unlocked.signing.privateKey, login };
}

export function unsignedCreate(actor: string, name: string, isPrivate: boolean, salt = toBase64Url(randomBytes(16))): UnsignedRoomEvent {
  return { v: 1, room: '', seq: 0, prev: '', type: 'create', actor, time: Date.now(), name, private: isPrivate, salt };
}

/** The unsigned event that follows `head` in room `room`; `extra` may override any field. */
export function unsignedNext(
  room: string,
  head: RoomHead,
  type: RoomEventType,
  actor: string,
  extra: Partial<UnsignedRoomEvent> = {},
): UnsignedRoomEvent {
  return { v: 1, room, seq: head.seq + 1, prev: head.hash, type, actor, time: Date.now(), ...extra };
}

export interface CreatedRoom {
  id: string;
  name: string;
  create: RoomEvent;
  summary: RoomSummary;
  /** Private rooms only. */
  password?: string;
  keys?: RoomPasswordKeys;
}

/** `owner` creates a public room, or a private one when `password` is given. */
export async function createRoom(owner: Member, name: string, password?: string): Promise<CreatedRoom> {
  const unsigned = unsignedCreate(owner.user, name, password !== undefined);
  const keys = password === undefined ? undefined : await deriveRoomPasswordKeys(password, unsigned.salt!, FAST_ROOM_SCRYPT);
  const create = signRoomEvent(unsigned, owner.key);
  const { room } = await owner.conn.request('create_room', { event: create, ...(keys ? { check: keys.check } : {}) });
  assert.equal(room.id, eventHash(create));
  return { id: room.id, name, create, summary: room, ...(password !== undefined ? { password, keys } : {}) };
}

/** The room's current head as the tracker serves it. */
export async function headOf(conn: TrackerConnection, room: string): Promise<RoomHead> {
  return (await conn.request('room_log', { room, from: 0 })).room.head;
}

/** Signs `type` by `member` on `head` (default: the tracker's current head) and appends it. */
export async function appendEvent(
  member: Member,
  room: CreatedRoom,
  type: Exclude<RoomEventType, 'create'>,
  opts: { subject?: string; head?: RoomHead; check?: string; keys?: RoomPasswordKeys } = {},
): Promise<{ event: RoomEvent; summary: RoomSummary }> {
  const event = signedEvent(member, room, type, opts.head ?? (await headOf(member.conn, room.id)), opts);
  const check = opts.check ?? (type === 'join' ? (opts.keys ?? room.keys)?.check : undefined);
  const { room: summary } = await member.conn.request('append', { event, ...(check !== undefined ? { check } : {}) });
  return { event, summary };
}

/** A signed event on `head`; a join to a private room carries the proof under `keys` (default: the room's). */
export function signedEvent(
  member: Member,
  room: CreatedRoom,
  type: Exclude<RoomEventType, 'create'>,
  head: RoomHead,
  opts: { subject?: string; keys?: RoomPasswordKeys } = {},
): RoomEvent {
  const unsigned = unsignedNext(room.id, head, type, member.user, opts.subject ? { subject: opts.subject } : {});
  const keys = opts.keys ?? room.keys;
  if (type === 'join' && keys) unsigned.proof = joinProof(unsigned, keys.proofKey);
  return signRoomEvent(unsigned, member.key);
}

export const join = (m: Member, room: CreatedRoom) => appendEvent(m, room, 'join');
export const leave = (m: Member, room: CreatedRoom) => appendEvent(m, room, 'leave');

/** The room as `conn`'s user sees it in list_rooms (undefined when it is not listed). */
export async function listed(conn: TrackerConnection, id: string): Promise<RoomSummary | undefined> {
  return (await conn.request('list_rooms', {})).rooms.find((r) => r.id === id);
}

/**
 * A tracker (FAST_TRACKER_ARGS plus `args`) whose database lives in RAM when /dev/shm exists: for
 * suites that append thousands of events, where each commit's fsync (synchronous=FULL) would
 * dominate the run time.
 */
export async function startRamTracker(t: Teardown, args: string[] = []): Promise<TrackerProcess> {
  const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
  const dir = await mkdtemp(joinPath(base, 'p2p-chat-tracker-'));
  let tracker: TrackerProcess;
  try {
    tracker = await startTracker(t, { dir, args: [...FAST_TRACKER_ARGS, ...args] });
  } finally {
    // startTracker leaves a folder it was given in place; registered after its own teardown.
    t.after(() => rm(dir, { recursive: true, force: true }));
  }
  return tracker;
}

// ---- is the tracker still serving? ---------------------------------------------------------------

const probes = new WeakMap<TrackerProcess, Promise<string>>();

/**
 * A fresh connection logs in (as a probe user registered once per tracker), pings and lists
 * rooms, then closes: the tracker survived whatever the test did and serves normal clients.
 */
export async function expectServing(tracker: TrackerProcess): Promise<void> {
  let probe = probes.get(tracker);
  if (!probe) {
    probe = (async () => {
      const user = uniqueName('probe');
      await warmUp(user);
      const conn = await tracker.connect({ heartbeatMs: 0 });
      await registerAndLogin(conn, user, { scryptParams: FAST_SCRYPT_PARAMS });
      await conn.close();
      return user;
    })();
    probes.set(tracker, probe);
  }
  const user = await probe;
  const conn = await tracker.connect({ heartbeatMs: 0 });
  try {
    const login = await loginUser(conn, user, { scryptParams: FAST_SCRYPT_PARAMS });
    assert.equal(login.session.user, user);
    const { time } = await conn.request('ping', {});
    assert.ok(time > 0);
    const { rooms } = await conn.request('list_rooms', {});
    assert.ok(Array.isArray(rooms));
  } finally {
    await conn.close();
  }
  assert.equal(tracker.child.exitCode, null, 'the tracker process is still running');
}

// ---- raw TLS ---------------------------------------------------------------------------------

/**
 * A raw TLS client that records every frame the tracker sends (decoded with the same codec) and
 * whether the tracker closed the stream: for bytes TrackerConnection would never send.
 */
export class RawClient {
  readonly frames: unknown[] = [];
  readonly closed: Promise<void>;
  private readonly decoder = new FrameDecoder(TRACKER_RESPONSE_LIMIT);
  private waiters: (() => void)[] = [];

  private constructor(readonly socket: tls.TLSSocket) {
    socket.on('data', (chunk: Buffer) => {
      for (const frame of this.decoder.push(chunk)) this.frames.push(frame);
      for (const w of this.waiters) w();
    });
    socket.on('error', () => {});
    this.closed = once(socket, 'close').then(() => undefined);
    void this.closed.then(() => {
      for (const w of this.waiters) w();
    });
  }

  static async connect(tracker: TrackerProcess, t: { after(fn: () => unknown): void }): Promise<RawClient> {
    const socket = tls.connect({ host: tracker.host, port: tracker.port, rejectUnauthorized: false });
    t.after(() => {
      socket.destroy();
    });
    await once(socket, 'secureConnect');
    return new RawClient(socket);
  }

  get isClosed(): boolean {
    return this.socket.destroyed || this.socket.readableEnded;
  }

  write(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  /** Writes one request frame (any JSON value). */
  send(value: unknown): void {
    this.socket.write(encodeFrame(value));
  }

  /** Resolves with the frames once `count` have arrived; rejects if the stream closes first. */
  async waitFrames(count: number, timeoutMs = 5_000): Promise<unknown[]> {
    await this.waitFor(() => this.frames.length >= count, `${count} frames`, timeoutMs);
    return this.frames.slice(0, count);
  }

  private waitFor(done: () => boolean, what: string, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (done()) finish(resolve);
        else if (this.socket.destroyed) finish(() => reject(new Error(`the stream closed before ${what}; got ${JSON.stringify(this.frames).slice(0, 500)}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.frames).slice(0, 500)}`))), timeoutMs);
      const finish = (fn: () => void) => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        fn();
      };
      this.waiters.push(check);
      check();
    });
  }
}

/** A frame header claiming `length` bytes, followed by `body`. */
export function frameHeader(length: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(length, 0);
  return Buffer.concat([head, body]);
}

/** A frame whose body is exactly `body` (not necessarily JSON). */
export function rawFrame(body: Buffer | string): Buffer {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return frameHeader(bytes.length, bytes);
}
