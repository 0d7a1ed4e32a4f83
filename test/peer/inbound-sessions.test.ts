// peer/inbound-sessions.ts and peer/session-journal.ts against issue 7 items 5 and 7: the record of
// used keys is on disk before anything waiting on it runs, it survives a reload, leaving a room and
// the caps; the caps hold for sessions and skipped keys per sender and per room; the journal grows
// by what changed, not by what is held.

import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { randomBytes, toBase64Url } from '../../protocol/crypto.ts';
import {
  MAX_SESSIONS_PER_ROOM, MAX_SESSIONS_PER_SENDER, MAX_SKIPPED_KEYS_PER_ROOM, MAX_SKIPPED_KEYS_PER_SENDER,
} from '../../protocol/peer.ts';
import { InboundSessions } from '../../peer/inbound-sessions.ts';
import { SessionJournal } from '../../peer/session-journal.ts';
import { isCoded } from '../../protocol/errors.ts';
import { serializeInbound, type InboundSession } from '../../peer/sender-keys.ts';

const ROOM = toBase64Url(randomBytes(32));
const OTHER = toBase64Url(randomBytes(32));
const HEAD = { seq: 3, hash: toBase64Url(randomBytes(32)) };

function folder(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'p2p-inbound-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

let clock = 1_700_000_000_000;
/** A session as openBundle returns it (the store does no cryptography). */
function session(sender: string, opts: { room?: string; head?: { seq: number; hash: string }; created?: number; skipped?: number } = {}): InboundSession {
  const skipped = new Map<number, Buffer>();
  for (let i = 0; i < (opts.skipped ?? 0); i++) skipped.set(i, randomBytes(32));
  return {
    room: opts.room ?? ROOM, session: toBase64Url(randomBytes(16)), sender, head: opts.head ?? HEAD,
    created: opts.created ?? clock++, start: 0, chainKey: randomBytes(32), index: opts.skipped ?? 0, skipped,
  };
}

function open(dir: string, key?: Buffer): { store: InboundSessions; journal: SessionJournal; errors: Error[] } {
  const journal = new SessionJournal(join(dir, 'sessions.jsonl'), key);
  const errors: Error[] = [];
  return { store: new InboundSessions(journal, (e) => errors.push(e)), journal, errors };
}

/** Resolves once everything changed so far is on disk. */
function durable(store: InboundSessions): Promise<void> {
  return new Promise((resolve) => store.afterDurable(resolve));
}

function refusedAsEnded(fn: () => unknown): void {
  assert.throws(fn, (e: unknown) => isCoded(e, 'session.ended'));
}

test('a callback waiting on a change runs only once the change is in the journal file; a burst is one append', async (t) => {
  const dir = folder(t);
  const { store, journal } = open(dir);
  const s = session('alice');
  store.add(s);
  let appends = 0;
  const append = journal.append.bind(journal);
  journal.append = (records) => {
    appends += 1;
    return append(records);
  };
  const seen: string[] = [];
  for (let i = 1; i <= 20; i++) {
    s.index = i;
    store.changed(s);
    store.afterDurable(() => {
      // What a crash right now would leave: the file as it is.
      const onDisk = InboundSessions.peek(new SessionJournal(journal.path));
      const saved = onDisk[`${ROOM} alice ${s.session}`] as { index: number };
      seen.push(`${i}:${saved.index}`);
    });
  }
  assert.equal(seen.length, 0, 'nothing runs before the write');
  await durable(store);
  assert.equal(seen.length, 20);
  assert.ok(seen.every((x) => x.endsWith(':20')), `every callback saw the newest state on disk: ${seen.join(' ')}`);
  assert.equal(appends, 1, 'one append (one fdatasync) for the burst');
  await store.close();
});

test('sessions beyond the cap per sender: the oldest goes, and its bundle is refused, also after a reload', async (t) => {
  const dir = folder(t);
  let { store } = open(dir);
  const sessions = Array.from({ length: MAX_SESSIONS_PER_SENDER + 3 }, () => session('mallory'));
  for (const s of sessions) store.add(s);
  const carol = session('carol');
  store.add(carol);
  assert.equal(store.stats(ROOM).sessions, MAX_SESSIONS_PER_SENDER + 1);
  for (const s of sessions.slice(0, 3)) {
    assert.equal(store.has(ROOM, 'mallory', s.session), false);
    assert.ok(s.chainKey.equals(Buffer.alloc(32)), 'the dropped chain key is overwritten');
    assert.match(store.refusal({ ...s }) ?? '', /newer session/);
  }
  for (const s of sessions.slice(3)) assert.equal(store.has(ROOM, 'mallory', s.session), true);
  assert.equal(store.has(ROOM, 'carol', carol.session), true, "another member's session is untouched");
  await store.close();

  ({ store } = open(dir));
  assert.equal(store.stats(ROOM).sessions, MAX_SESSIONS_PER_SENDER + 1);
  refusedAsEnded(() => store.add({ ...sessions[0], chainKey: randomBytes(32), skipped: new Map() }));
  assert.equal(store.refusal(sessions[3]), undefined, 'a held session is not refused');
  await store.close();
});

test('the room cap: the member holding the most sessions loses its oldest first', async (t) => {
  const { store } = open(folder(t));
  const honest = session('alice');
  store.add(honest);
  // Many members with one session each, and one with the most.
  for (let i = 0; store.stats(ROOM).sessions < MAX_SESSIONS_PER_ROOM - MAX_SESSIONS_PER_SENDER; i++) store.add(session(`m${i}`));
  const greedy = Array.from({ length: MAX_SESSIONS_PER_SENDER }, () => session('mallory'));
  for (const s of greedy) store.add(s);
  assert.equal(store.stats(ROOM).sessions, MAX_SESSIONS_PER_ROOM);
  store.add(session('late'));
  store.add(session('later'));
  assert.equal(store.stats(ROOM).sessions, MAX_SESSIONS_PER_ROOM);
  assert.equal(store.has(ROOM, 'alice', honest.session), true);
  assert.equal(store.has(ROOM, 'mallory', greedy[0].session), false);
  assert.equal(store.has(ROOM, 'mallory', greedy[1].session), false);
  assert.equal(store.has(ROOM, 'mallory', greedy[2].session), true);
  await store.close();
});

test('skipped keys are capped per sender and per room, oldest first', async (t) => {
  const { store } = open(folder(t));
  const per = 99;
  const mine = Array.from({ length: MAX_SESSIONS_PER_SENDER }, () => session('mallory', { skipped: per }));
  for (const s of mine) store.add(s);
  assert.equal(store.stats(ROOM).skipped, MAX_SKIPPED_KEYS_PER_SENDER);
  assert.equal(mine[0].skipped.size, 0, "the oldest session's keys went first");
  assert.equal(mine.at(-1)!.skipped.size, per);
  for (let i = 0; store.stats(ROOM).sessions < MAX_SESSIONS_PER_ROOM; i++) store.add(session(`m${i}`, { skipped: per }));
  assert.ok(store.stats(ROOM).skipped <= MAX_SKIPPED_KEYS_PER_ROOM, `${store.stats(ROOM).skipped} skipped keys in the room`);
  await store.close();
});

test('leaving a room drops its sessions and refuses any made before, also after a reload; other rooms are untouched', async (t) => {
  const dir = folder(t);
  let { store } = open(dir);
  const old = session('alice');
  const elsewhere = session('alice', { room: OTHER });
  store.add(old);
  store.add(elsewhere);
  store.forgetRoom(ROOM, 7);
  await durable(store);
  assert.equal(store.has(ROOM, 'alice', old.session), false);
  assert.match(store.refusal(old) ?? '', /before you left/);
  // Joined again: a session at a head after the leave is fine.
  const fresh = session('alice', { head: { seq: 9, hash: HEAD.hash } });
  store.add(fresh);
  await store.close();

  ({ store } = open(dir));
  refusedAsEnded(() => store.add({ ...old, created: clock++, chainKey: randomBytes(32) }));
  assert.equal(store.has(ROOM, 'alice', fresh.session), true);
  assert.equal(store.has(OTHER, 'alice', elsewhere.session), true);
  await store.close();
});

test('a torn last line (a crash mid-append) is ignored; a damaged line before it is reported', async (t) => {
  const dir = folder(t);
  let { store, journal } = open(dir);
  const s = session('alice');
  store.add(s);
  await store.close();
  appendFileSync(journal.path, '{"t":"in","s":{"v":1,"ro');
  ({ store } = open(dir));
  assert.equal(store.has(ROOM, 'alice', s.session), true);
  await store.close();
  const good = readFileSync(journal.path, 'utf8');
  assert.ok(!good.includes('"ro\n') && good.endsWith('\n'), 'the torn line is gone after the start');
  writeFileSync(journal.path, `not json\n${good}`);
  assert.throws(() => open(dir), /damaged at line 1; move it aside/);
});

/** The journal's records end at the first zero byte (the file is preallocated with zeros past them). */
function contentBytes(path: string): number {
  const file = readFileSync(path);
  const stop = file.indexOf(0);
  return stop < 0 ? file.length : stop;
}

test('the journal grows by the session that changed, whatever the number held; compacted on close', async (t) => {
  const dir = folder(t);
  const { store, journal } = open(dir);
  const growth = async (held: number): Promise<number> => {
    while (store.size < held) store.add(session(`m${store.size}`, { room: toBase64Url(randomBytes(32)) }));
    const s = session('alice', { room: toBase64Url(randomBytes(32)) });
    store.add(s);
    await durable(store);
    const before = contentBytes(journal.path);
    for (let i = 1; i <= 10; i++) {
      s.index = i;
      store.changed(s);
      await durable(store);
    }
    return contentBytes(journal.path) - before;
  };
  const few = await growth(1);
  const many = await growth(500);
  assert.ok(many <= few * 1.5, `10 messages appended ${few} bytes with 2 sessions held, ${many} with 500`);
  await store.close();
  assert.ok(statSync(journal.path).size < 600 * 400, 'compacted to the live sessions');
});

test('with an at-rest key, no line of the journal shows a chain key', async (t) => {
  const dir = folder(t);
  const key = randomBytes(32);
  const { store, journal } = open(dir, key);
  const s = session('alice', { skipped: 3 });
  const secrets = [s.chainKey, ...s.skipped.values()].map((k) => toBase64Url(k));
  store.add(s);
  await durable(store);
  const text = readFileSync(journal.path, 'utf8');
  for (const secret of secrets) assert.ok(!text.includes(secret));
  await store.close();
  const reopened = open(dir, key).store;
  assert.equal(reopened.has(ROOM, 'alice', s.session), true);
  await reopened.close();
  assert.throws(() => open(dir), /damaged/, 'without the key the lines do not read');
});

test('a journal write that fails shows nothing waiting on it, says why, and the change goes with the next write', async (t) => {
  const dir = folder(t);
  const { store, journal, errors } = open(dir);
  const s = session('alice');
  store.add(s);
  await durable(store);
  const append = journal.append.bind(journal);
  let fail = true;
  journal.append = async (records) => {
    if (fail) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return append(records);
  };
  s.index = 5;
  store.changed(s);
  let ran = false;
  store.afterDurable(() => (ran = true));
  // What waits for the disk to apply backpressure is released by the failed write too.
  await store.nextWrite();
  assert.equal(errors.length, 1);
  assert.equal(ran, false, 'not shown: it is not on disk');
  assert.match(errors[0].message, /could not record received messages on disk \(ENOSPC.*1 message\(s\) were not shown: free disk space/);
  fail = false;
  s.index = 6;
  store.changed(s);
  await durable(store);
  const saved = InboundSessions.peek(new SessionJournal(journal.path))[`${ROOM} alice ${s.session}`] as { index: number };
  assert.equal(saved.index, 6);
  await store.close();
});

test('sessions an earlier version kept in state.json move into the journal; ended ones stay ended', async (t) => {
  const dir = folder(t);
  const kept = session('alice');
  const left = session('carol', { room: OTHER });
  // The journal already says the user left OTHER (at event 7), as this version writes it.
  let { store } = open(dir);
  store.forgetRoom(OTHER, 7);
  await store.close();
  const journal = new SessionJournal(join(dir, 'sessions.jsonl'));
  const legacy = [serializeInbound(kept), serializeInbound(left), { v: 1, room: 'garbage' }];
  store = new InboundSessions(journal, () => {}, legacy);
  assert.equal(store.has(ROOM, 'alice', kept.session), true);
  assert.equal(store.has(OTHER, 'carol', left.session), false, 'made before leaving: not brought back');
  await store.close();
  ({ store } = open(dir));
  assert.equal(store.has(ROOM, 'alice', kept.session), true, 'written to the journal at the start');
  await store.close();
});
