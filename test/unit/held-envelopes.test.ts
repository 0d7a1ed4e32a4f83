// Envelopes and session bundles held for absent members and catch-up (peer/held-envelopes.ts),
// on a real store in a temp folder: dedupe, contiguous summaries, paged reads in seq order,
// pruning by age and per-room cap, sealed at rest, kept across a reopen.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { randomBytes } from '../../protocol/crypto.ts';
import { isCoded } from '../../protocol/errors.ts';
import type { Envelope, SessionBundle } from '../../protocol/peer.ts';
import { HeldEnvelopes } from '../../peer/held-envelopes.ts';
import { CatchUp } from '../../peer/catch-up.ts';
import { HELD_MAX_AGE_MS } from '../../protocol/peer.ts';
import { StoreDb } from '../../peer/store-db.ts';

async function store(t: TestContext): Promise<{ dir: string; key: Buffer; db: StoreDb; held: HeldEnvelopes }> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-held-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const key = randomBytes(32);
  const db = new StoreDb(join(dir, 'store.db'), key);
  t.after(() => db.close());
  return { dir, key, db, held: new HeldEnvelopes(db) };
}

const b64 = (n: number, fill: number) => Buffer.alloc(n, fill).toString('base64url');
const ROOM = 'A'.repeat(43);
const ROOM2 = 'B'.repeat(43);
const S1 = b64(16, 1);
const S2 = b64(16, 2);
const head = { seq: 3, hash: b64(32, 9) };

function envelope(room: string, sender: string, session: string, seq: number, marker = 'ct'): Envelope {
  return { room, head, sender, session, seq, iv: b64(12, 7), ct: Buffer.from(`${marker}-${seq}`).toString('base64url'), sig: b64(256, 5) };
}

function bundle(room: string, sender: string, session: string, start: number, created = 1): SessionBundle {
  return { room, head, session, sender, start, created, wraps: [{ to: 'bob', key: b64(256, 3) }, { to: 'carol', key: b64(256, 4) }], sig: b64(256, 6) };
}

test('envelopes are deduplicated by (room, sender, session, seq) and read back in seq order after a seq, in pages', async (t) => {
  const { held } = await store(t);
  for (const seq of [4, 0, 2, 1, 3, 9]) assert.equal(held.putEnvelope(envelope(ROOM, 'alice', S1, seq), 100 + seq), true);
  assert.equal(held.putEnvelope(envelope(ROOM, 'alice', S1, 2, 'other'), 500), false);
  held.putEnvelope(envelope(ROOM, 'alice', S2, 0), 100);
  held.putEnvelope(envelope(ROOM2, 'alice', S1, 0), 100);
  assert.deepEqual(held.after(ROOM, 'alice', S1, -1, 3).map((e) => e.seq), [0, 1, 2]);
  assert.deepEqual(held.after(ROOM, 'alice', S1, 2, 100).map((e) => e.seq), [3, 4, 9]);
  assert.deepEqual(held.after(ROOM, 'alice', S1, 1, 1)[0], envelope(ROOM, 'alice', S1, 2));
  assert.deepEqual(held.after(ROOM, 'alice', S1, 9, 10), []);
  assert.deepEqual(held.rooms(), [ROOM, ROOM2]);
  assert.throws(() => held.after(ROOM, 'alice', S1, 0, 0), (err) => isCoded(err, 'request.invalid'));
  assert.throws(() => held.putEnvelope({ ...envelope(ROOM, 'alice', S1, 20), sig: 'short' }, 1), (err) => isCoded(err, 'request.invalid'));
});

test('summary: per session the highest seq held with none missing from its first (the bundle start, else 0)', async (t) => {
  const { held } = await store(t);
  for (const seq of [0, 1, 2, 4, 5]) held.putEnvelope(envelope(ROOM, 'alice', S1, seq), 1);
  // A session whose bundle opens from 10: 10, 11 held, then a gap.
  held.putBundle(bundle(ROOM, 'bob', S1, 10));
  for (const seq of [10, 11, 13]) held.putEnvelope(envelope(ROOM, 'bob', S1, seq), 1);
  // A session without its first message: nothing contiguous yet.
  held.putEnvelope(envelope(ROOM, 'carol', S2, 3), 1);
  // A bundle with no envelope yet.
  held.putBundle(bundle(ROOM, 'dave', S2, 0));
  assert.deepEqual(held.summary(ROOM), [
    { sender: 'alice', session: S1, seq: 2 },
    { sender: 'bob', session: S1, seq: 11 },
    { sender: 'carol', session: S2, seq: -1 },
    { sender: 'dave', session: S2, seq: -1 },
  ]);
  held.putEnvelope(envelope(ROOM, 'alice', S1, 3), 1);
  assert.equal(held.summary(ROOM)[0]!.seq, 5);
  assert.deepEqual(held.summary(ROOM2), []);
});

test('one bundle per session: the one that opens from an earlier message is kept', async (t) => {
  const { held } = await store(t);
  assert.equal(held.putBundle(bundle(ROOM, 'alice', S1, 5)), true);
  assert.equal(held.putBundle(bundle(ROOM, 'alice', S1, 7)), false);
  assert.equal(held.bundle(ROOM, 'alice', S1)!.start, 5);
  assert.equal(held.putBundle(bundle(ROOM, 'alice', S1, 0)), true);
  assert.deepEqual(held.bundle(ROOM, 'alice', S1), bundle(ROOM, 'alice', S1, 0));
  assert.equal(held.bundle(ROOM, 'alice', S2), undefined);
});

test('prune drops by age, then over the per-room cap each sender\'s oldest beyond a fair share; a bundle goes with the last envelope of its session', async (t) => {
  const { db, held } = await store(t);
  held.putBundle(bundle(ROOM, 'alice', S1, 0), 0);
  for (let seq = 0; seq < 10; seq++) held.putEnvelope(envelope(ROOM, 'alice', S1, seq), 100 + seq);
  held.putBundle(bundle(ROOM, 'bob', S2, 0), 150);
  for (let seq = 0; seq < 5; seq++) held.putEnvelope(envelope(ROOM, 'bob', S2, seq), 200 + seq);
  held.putBundle(bundle(ROOM2, 'carol', S1, 0), 100);
  held.putEnvelope(envelope(ROOM2, 'carol', S1, 0), 100);
  // A bundle that arrived after everything dropped (its messages still to come) stays.
  held.putBundle(bundle(ROOM, 'dave', S1, 0), 1000);

  // Age: everything received before 105 goes (alice 0..4, carol's one).
  assert.equal(held.prune({ now: 1105, maxAgeMs: 1000, maxPerRoom: 100 }), 6);
  assert.deepEqual(held.after(ROOM, 'alice', S1, -1, 100).map((e) => e.seq), [5, 6, 7, 8, 9]);
  assert.equal(held.bundle(ROOM2, 'carol', S1), undefined, 'no envelope of its session left');
  assert.ok(held.bundle(ROOM, 'alice', S1));
  // Cap: ROOM holds 10 (5 each), keep 4: each sender's share, their newest 2.
  assert.equal(held.prune({ now: 1105, maxAgeMs: 1000, maxPerRoom: 4 }), 6);
  assert.deepEqual(held.after(ROOM, 'alice', S1, -1, 100).map((e) => e.seq), [8, 9]);
  assert.deepEqual(held.after(ROOM, 'bob', S2, -1, 100).map((e) => e.seq), [3, 4]);
  assert.ok(held.bundle(ROOM, 'alice', S1));
  assert.ok(held.bundle(ROOM, 'bob', S2));
  assert.ok(held.bundle(ROOM, 'dave', S1), 'a bundle newer than what was dropped stays');
  assert.deepEqual(held.rooms(), [ROOM]);
  // Bundles alone are capped per room too (a member can announce sessions without messages).
  for (let i = 0; i < 10; i++) held.putBundle(bundle(ROOM2, 'mallory', b64(16, 100 + i), 0), 2000 + i);
  held.prune({ now: 2100, maxAgeMs: 1000, maxPerRoom: 4 });
  assert.equal(held.summary(ROOM2).length, 4);
  assert.ok(held.bundle(ROOM2, 'mallory', b64(16, 109)), 'the newest bundles stay');
  await db.committed();
});

test('held values are sealed at rest and kept across a reopen; forget drops a room', async (t) => {
  const { dir, key, db, held } = await store(t);
  const marker = 'plainly-visible-envelope-marker';
  held.putEnvelope({ ...envelope(ROOM, 'alice', S1, 0), ct: Buffer.from(marker).toString('base64url') }, 1);
  held.putBundle(bundle(ROOM, 'alice', S1, 0));
  held.putEnvelope(envelope(ROOM2, 'alice', S1, 0), 1);
  await db.committed();
  db.close();
  const bytes = readFileSync(join(dir, 'store.db'));
  for (const needle of [Buffer.from(marker).toString('base64url'), b64(256, 3), b64(256, 5)]) assert.equal(bytes.includes(needle), false, needle.slice(0, 20));
  const again = new StoreDb(join(dir, 'store.db'), key);
  t.after(() => again.close());
  const held2 = new HeldEnvelopes(again);
  assert.equal(Buffer.from(held2.after(ROOM, 'alice', S1, -1, 10)[0]!.ct, 'base64url').toString(), marker);
  assert.deepEqual(held2.bundle(ROOM, 'alice', S1), bundle(ROOM, 'alice', S1, 0));
  held2.forget(ROOM);
  assert.deepEqual(held2.rooms(), [ROOM2]);
  assert.equal(held2.bundle(ROOM, 'alice', S1), undefined);
});

test('catch-up bounds what it holds: at sign-in (and every few minutes) envelopes past HELD_MAX_AGE_MS go', async (t) => {
  const { held, db } = await store(t);
  const now = 40 * 24 * 3600 * 1000;
  held.putBundle(bundle(ROOM, 'alice', S1, 0), now - HELD_MAX_AGE_MS - 2);
  held.putEnvelope(envelope(ROOM, 'alice', S1, 0), now - HELD_MAX_AGE_MS - 1);
  held.putBundle(bundle(ROOM, 'alice', S2, 0), now);
  held.putEnvelope(envelope(ROOM, 'alice', S2, 0), now - 1000);
  await db.committed();
  const unused = () => {
    throw new Error('not used by pruning');
  };
  const catchUp = new CatchUp({
    me: 'bob', held, conversations: unused as never, commit: () => db.flush(), now: () => now,
    peerHolds: unused, online: unused, signedByPinned: unused, deletedTarget: unused, linked: unused, dial: unused, withLink: unused, waiting: unused, retry: unused, report: (err) => assert.fail(String(err)), track: unused,
  });
  t.after(() => catchUp.close());
  assert.deepEqual(held.after(ROOM, 'alice', S1, -1, 10), [], 'the old one is gone');
  assert.equal(held.after(ROOM, 'alice', S2, -1, 10).length, 1, 'a recent one stays');
});

test("a deleted message's envelope becomes a tombstone: never served again, still counted as held; holes are listed", async (t) => {
  const { db, held } = await store(t);
  const secret = 'the-deleted-ciphertext';
  for (const seq of [0, 1, 2, 4, 6]) held.putEnvelope(envelope(ROOM, 'alice', S1, seq, seq === 1 ? secret : 'ct'), 100);
  held.putEnvelope(envelope(ROOM, 'alice', S2, 1), 100);
  assert.deepEqual(held.holes(ROOM, 'alice', 10), [{ session: S1, seq: 3 }, { session: S1, seq: 5 }, { session: S2, seq: 0 }]);
  assert.deepEqual(held.holes(ROOM, 'alice', 1), [{ session: S1, seq: 3 }], 'at most `limit`');
  assert.deepEqual(held.holes(ROOM, 'bob', 10), []);

  held.tombstone(ROOM, 'alice', S1, 1, 200);
  // A hole whose message was deleted before it ever came: tombstoned too.
  held.tombstone(ROOM, 'alice', S1, 3, 200);
  db.flush();
  assert.deepEqual(held.after(ROOM, 'alice', S1, -1, 100).map((e) => e.seq), [0, 2, 4, 6], 'tombstones are not served');
  assert.deepEqual(held.after(ROOM, 'alice', S1, 0, 1).map((e) => e.seq), [2], 'a page skips them');
  assert.equal(held.upTo(ROOM, 'alice', S1), 4, 'still held: 0-4 with none missing');
  assert.deepEqual(held.holes(ROOM, 'alice', 10), [{ session: S1, seq: 5 }, { session: S2, seq: 0 }]);
  assert.deepEqual(held.missing(ROOM, 'bob'), [{ from: 'alice', missing: 1 }], 'only the real hole (S1 seq 5) counts as missing');
  // The message arriving after its tombstone does not bring its ciphertext back.
  assert.equal(held.putEnvelope(envelope(ROOM, 'alice', S1, 1, secret), 300), false);
  assert.deepEqual(held.after(ROOM, 'alice', S1, 0, 1).map((e) => e.seq), [2]);
  db.flush();
  const bodies = db.all('SELECT length(body) AS n FROM envelopes WHERE room = ? AND session = ? AND seq IN (1, 3)', [ROOM, S1]).map((r) => Number(r.n));
  assert.deepEqual(bodies, [0, 0], 'nothing of either is kept but the tombstone');
});

test("a claimed hole (a delete's `edits`, the sender's word only) is asked for by the summary, shown as no gap, never served, and an envelope takes its place", async (t) => {
  const { db, held } = await store(t);
  for (const seq of [0, 2, 3]) held.putEnvelope(envelope(ROOM, 'alice', S1, seq), 100);
  held.claim(ROOM, 'alice', S1, 1, 200);
  db.flush();
  assert.deepEqual(held.summary(ROOM), [{ sender: 'alice', session: S1, seq: 0 }], 'the summary asks for it (and what follows)');
  assert.equal(held.upTo(ROOM, 'alice', S1), 3, "gaps' view: held");
  assert.deepEqual(held.missing(ROOM, 'bob'), [], 'no gap shown');
  assert.deepEqual(held.holes(ROOM, 'alice', 10), [], 'closed');
  assert.deepEqual(held.after(ROOM, 'alice', S1, -1, 100).map((e) => e.seq), [0, 2, 3], 'never served');
  // A claim replaces nothing held: neither a live envelope nor a tombstone.
  held.claim(ROOM, 'alice', S1, 2, 300);
  held.tombstone(ROOM, 'alice', S1, 3, 300);
  held.claim(ROOM, 'alice', S1, 3, 300);
  assert.deepEqual(held.after(ROOM, 'alice', S1, -1, 100).map((e) => e.seq), [0, 2]);
  assert.equal(held.upTo(ROOM, 'alice', S1, { claims: false }), 0);
  // The envelope arrives (from a member who holds it): held and served from now on.
  assert.equal(held.putEnvelope(envelope(ROOM, 'alice', S1, 1, 'live'), 400), true);
  assert.deepEqual(held.after(ROOM, 'alice', S1, 0, 1)[0], envelope(ROOM, 'alice', S1, 1, 'live'));
  assert.deepEqual(held.summary(ROOM), [{ sender: 'alice', session: S1, seq: 3 }]);
  assert.equal(held.putEnvelope(envelope(ROOM, 'alice', S1, 1, 'other'), 500), false, 'a copy is still a duplicate');
  // A tombstone takes a claim's place too (a real dead edit arrived and was scrubbed).
  held.claim(ROOM, 'alice', S1, 5, 600);
  held.tombstone(ROOM, 'alice', S1, 5, 600);
  held.putEnvelope(envelope(ROOM, 'alice', S1, 4), 600);
  assert.equal(held.putEnvelope(envelope(ROOM, 'alice', S1, 5), 700), false, 'a tombstone keeps it out');
  assert.deepEqual(held.summary(ROOM), [{ sender: 'alice', session: S1, seq: 5 }]);
});

test("one member's flood over the cap pushes out their own oldest, not another member's message held for someone away", async (t) => {
  const { held } = await store(t);
  held.putBundle(bundle(ROOM, 'alice', S1, 0), 1);
  held.putEnvelope(envelope(ROOM, 'alice', S1, 0), 10);
  // mallory's invisible reaction toggles, all newer, far past the cap.
  held.putBundle(bundle(ROOM, 'mallory', S1, 0), 11);
  for (let seq = 0; seq < 10; seq++) held.putEnvelope(envelope(ROOM, 'mallory', S1, seq), 50 + seq);
  held.putBundle(bundle(ROOM, 'mallory', S2, 0), 60);
  for (let seq = 0; seq < 30; seq++) held.putEnvelope(envelope(ROOM, 'mallory', S2, seq), 100 + seq);
  assert.equal(held.prune({ now: 1000, maxAgeMs: 10_000, maxPerRoom: 10 }), 31);
  assert.deepEqual(held.after(ROOM, 'alice', S1, -1, 100).map((e) => e.seq), [0], "alice's message stays");
  assert.deepEqual(held.after(ROOM, 'mallory', S1, -1, 100), []);
  assert.deepEqual(held.after(ROOM, 'mallory', S2, -1, 100).map((e) => e.seq), [21, 22, 23, 24, 25, 26, 27, 28, 29]);
  assert.ok(held.bundle(ROOM, 'alice', S1));
  assert.equal(held.bundle(ROOM, 'mallory', S1), undefined, 'her session with no envelope left goes, its bundle with it');
  assert.ok(held.bundle(ROOM, 'mallory', S2));
});
