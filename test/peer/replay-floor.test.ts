// Replay protection when the record of used message keys itself is gone (issue 7, item 5, as a
// security tester broke it): `sessions.jsonl` moved aside (what its damaged-journal error tells
// the user to do), or a fresh data folder (another machine). A member forwarding alice's old
// bundles and envelopes must not make them show again as new; an honest new message afterwards,
// also of the same old session, is shown. The journal records when it started (peer/inbound-
// sessions.ts) and messages signed before that are refused as `message.before_start`. Real `node tracker`, bob as a real `node peer --json` process or engine.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { DM_HEAD, dmRoom, type Envelope } from '../../protocol/peer.ts';
import { DataFolder } from '../../peer/data-folder.ts';
import type { ChatEngine } from '../../peer/engine.ts';
import { InboundSessions } from '../../peer/inbound-sessions.ts';
import type { PeerLink } from '../../peer/link.ts';
import { SessionJournal } from '../../peer/session-journal.ts';
import { PASSWORD, collect, makeEngine, registered, waitFor, type TestEngine } from '../helpers/engines.ts';
import { checkPeerBundle, messageShown, startWatchedPeer } from '../helpers/peer-process.ts';
import { freePort, HandSession, linkTo, savedHead, savedKeys, type AccountKeys } from '../helpers/proxy.ts';
import { FAST_TRACKER_ARGS, startTracker, type TrackerProcess } from '../helpers/tracker-process.ts';

const SLOW = { timeout: 240_000 };
const EVENT_MS = 60_000;
/** How long ago alice sent her old messages. */
const OLD_BY_MS = 60_000;
const OLD = () => Date.now() - OLD_BY_MS;
/** bob's first device has kept its journal since before those messages. */
const BOB_SINCE = 2 * OLD_BY_MS;

interface World {
  tracker: TrackerProcess;
  alice: TestEngine;
  /** bob's first device, still running (its clock set back: it has been receiving since BOB_SINCE ago). */
  bob: TestEngine;
  bobPort: number;
  room: string;
  keys: Record<'alice' | 'bob' | 'mallory', AccountKeys>;
  /** alice's old room session and DM session, with messages sent long ago, and their texts. */
  old: { room: HandSession; dm: HandSession; envelopes: Envelope[]; texts: string[] };
}

/** alice owns `lab`; bob and mallory joined; mallory's engine is closed (the test speaks for her). */
async function world(t: TestContext): Promise<World> {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const bobPort = await freePort();
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob', { peerPort: bobPort, now: () => Date.now() - BOB_SINCE });
  const mallory = await registered(t, tracker, 'mallory');
  const { id: room } = await alice.createRoom('lab');
  await bob.joinRoom('lab');
  const seen = waitFor(alice, 'member_joined', (e) => e.user === 'mallory', EVENT_MS);
  await mallory.joinRoom('lab');
  await seen;
  const keys = { alice: savedKeys(alice, 'alice'), bob: savedKeys(bob, 'bob'), mallory: savedKeys(mallory, 'mallory') };
  await mallory.close();
  const roomSession = new HandSession(keys.alice, room, savedHead(alice, room), [keys.bob, keys.mallory], OLD());
  const dm = new HandSession(keys.alice, dmRoom('alice', 'bob'), { ...DM_HEAD }, [keys.bob], OLD());
  const texts = ['old 1', 'old 2', 'old dm'];
  const envelopes = [roomSession.envelope(texts[0], OLD()), roomSession.envelope(texts[1], OLD()), dm.envelope(texts[2], OLD())];
  return { tracker, alice, bob, bobPort, room, keys, old: { room: roomSession, dm, envelopes, texts } };
}

/** What a member who kept them forwards: both old bundles, then every old envelope. */
function forwardOld(link: PeerLink, w: World): void {
  link.send({ t: 'session', bundle: w.old.room.bundle });
  link.send({ t: 'session', bundle: w.old.dm.bundle });
  for (const envelope of w.old.envelopes) link.send({ t: 'envelope', envelope });
}

/** Resolves with the first message event with this text (an engine's). */
function engineShows(engine: ChatEngine, text: string): Promise<unknown> {
  return waitFor(engine, 'message', (m) => m.text === text, EVENT_MS);
}

/** bob's first device shows alice's old messages, forwarded by mallory: the originals. */
async function showOriginals(t: TestContext, w: World): Promise<void> {
  const shown = collect(w.bob, 'message');
  const link = await linkTo(t, w.bob, w.keys.mallory, w.keys.bob);
  const last = engineShows(w.bob, 'old dm');
  forwardOld(link, w);
  await last;
  link.close();
  assert.deepEqual(shown.map((m) => m.text), w.old.texts);
}

/** bob as a `node peer --json` process on his first device's data folder, ready. */
function startBob(t: TestContext, w: World, label: string) {
  return startWatchedPeer(t, { tracker: `${w.tracker.host}:${w.tracker.port}`, data: w.bob.dataDir, port: w.bobPort, label }, EVENT_MS);
}

function moveStoreAside(journal: string): void {
  const store = join(dirname(journal), 'store.db');
  if (existsSync(store)) renameSync(store, `${store}.aside`);
}

test('sessions.jsonl moved aside (as its error says): forwarded old bundles and envelopes show nothing again, new messages of the same sessions do, also after a restart', SLOW, async (t) => {
  checkPeerBundle();
  const w = await world(t);
  await showOriginals(t, w);
  const gone = waitFor(w.alice, 'presence', (p) => p.user === 'bob' && !p.online, EVENT_MS);
  await w.bob.close();
  await gone;
  const journal = new DataFolder(w.bob.dataDir, false).sessionJournal('bob').path;
  renameSync(journal, `${journal}.aside`);
  // With the history store in place the old messages are known as shown and quietly dropped as
  // duplicates; without it (moved aside too) only the journal's start stands between them and
  // the screen, which is what this test is about.
  moveStoreAside(journal);

  const run2 = await startBob(t, w, 'bob, journal moved aside');
  let link = await linkToBob(t, w);
  const markers = Promise.all([messageShown(run2.peer, 'new in the old session', EVENT_MS), messageShown(run2.peer, 'new dm in the old session', EVENT_MS)]);
  forwardOld(link, w);
  link.send({ t: 'envelope', envelope: w.old.room.envelope('new in the old session') });
  link.send({ t: 'envelope', envelope: w.old.dm.envelope('new dm in the old session') });
  await markers;
  assert.deepEqual(run2.shown, ['new in the old session', 'new dm in the old session']);
  const refused = run2.errors.filter((e) => e.code === 'message.before_start');
  assert.equal(refused.length, w.old.envelopes.length, `each old message refused, and said so: ${JSON.stringify(run2.errors)}`);
  assert.match(String(refused[0].message), /taken for a replay/);
  link.close();
  await run2.peer.stop();

  // The journal's start is on disk: after a restart the same replays (and the new ones) show nothing.
  const run3 = await startBob(t, w, 'bob restarted');
  link = await linkToBob(t, w);
  const restarted = messageShown(run3.peer, 'after the restart', EVENT_MS);
  forwardOld(link, w);
  link.send({ t: 'envelope', envelope: w.old.room.envelope('after the restart') });
  await restarted;
  assert.deepEqual(run3.shown, ['after the restart']);
});

test('messages shown seconds before the journal is moved aside are not shown again either (no clock allowance for a replay to slip through)', SLOW, async (t) => {
  checkPeerBundle();
  const w = await world(t);
  const recent = new HandSession(w.keys.alice, w.room, savedHead(w.alice, w.room), [w.keys.bob, w.keys.mallory]);
  const envelopes = ['just now 1', 'just now 2'].map((text) => recent.envelope(text));
  const first = await linkTo(t, w.bob, w.keys.mallory, w.keys.bob);
  const shown = engineShows(w.bob, 'just now 2');
  first.send({ t: 'session', bundle: recent.bundle });
  for (const envelope of envelopes) first.send({ t: 'envelope', envelope });
  await shown;
  first.close();
  const gone = waitFor(w.alice, 'presence', (p) => p.user === 'bob' && !p.online, EVENT_MS);
  await w.bob.close();
  await gone;
  const journal = new DataFolder(w.bob.dataDir, false).sessionJournal('bob').path;
  renameSync(journal, `${journal}.aside`);
  // With the history store in place the old messages are known as shown and quietly dropped as
  // duplicates; without it (moved aside too) only the journal's start stands between them and
  // the screen, which is what this test is about.
  moveStoreAside(journal);

  const run2 = await startBob(t, w, 'bob, journal moved aside');
  const link = await linkToBob(t, w);
  const marker = messageShown(run2.peer, 'new after the restart', EVENT_MS);
  link.send({ t: 'session', bundle: recent.bundle });
  for (const envelope of envelopes) link.send({ t: 'envelope', envelope });
  link.send({ t: 'envelope', envelope: recent.envelope('new after the restart') });
  await marker;
  assert.deepEqual(run2.shown, ['new after the restart']);
  assert.equal(run2.errors.filter((e) => e.code === 'message.before_start').length, envelopes.length);
});

function linkToBob(t: TestContext, w: World): Promise<PeerLink> {
  return linkTo(t, { peerPort: w.bobPort } as ChatEngine, w.keys.mallory, w.keys.bob);
}

test('a fresh data folder (bob on another machine): forwarded old bundles and envelopes show nothing; an honest new message does', SLOW, async (t) => {
  const w = await world(t);
  await showOriginals(t, w);
  await w.bob.close();
  const device2 = await makeEngine(t, w.tracker);
  const errors = collect(device2, 'error');
  const shown = collect(device2, 'message');
  await device2.login('bob', PASSWORD);
  const link = await linkTo(t, device2, w.keys.mallory, w.keys.bob);
  const marker = engineShows(device2, 'hello new machine');
  forwardOld(link, w);
  link.send({ t: 'envelope', envelope: w.old.room.envelope('hello new machine') });
  await marker;
  assert.deepEqual(shown.map((m) => m.text), ['hello new machine']);
  assert.equal(errors.filter((e) => e.code === 'message.before_start').length, w.old.envelopes.length);
  // And alice's own engine reaches the new machine as usual.
  const fromAlice = engineShows(device2, 'from alice, live');
  await w.alice.sendRoom('lab', 'from alice, live');
  await fromAlice;
});

test('the journal records its start before it is used: a fresh or lost journal starts now, a kept one keeps its start, an earlier version\'s has none', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-floor-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'sessions.jsonl');
  const T = Date.now();
  const first = new InboundSessions(new SessionJournal(path), () => {}, [], false, () => T);
  // On disk (compacted and fsynced) before the constructor returned: nothing was shown before it.
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8').split('\n')[0]), { t: 'start', at: T });
  assert.equal(first.startTime, T);
  first.requireAfterStart('alice', T);
  assert.throws(() => first.requireAfterStart('alice', T - 1), { code: 'message.before_start' });
  await first.close();

  const kept = new InboundSessions(new SessionJournal(path), () => {}, [], false, () => T + 10_000);
  assert.equal(kept.startTime, T, 'a kept journal keeps its start');
  await kept.close();

  renameSync(path, `${path}.aside`);
  const afresh = new InboundSessions(new SessionJournal(path), () => {}, [], false, () => T + 20_000);
  assert.equal(afresh.startTime, T + 20_000, 'a journal moved aside starts now');
  await afresh.close();

  // An earlier version's journal (records, no start): its records are intact, no floor.
  writeFileSync(path, JSON.stringify({ t: 'left', room: 'r1', seq: 3 }) + '\n');
  const earlier = new InboundSessions(new SessionJournal(path), () => {}, [], false, () => T);
  assert.equal(earlier.startTime, 0);
  earlier.requireAfterStart('alice', 1);
  await earlier.close();

  // The damaged-journal error says what moving it aside really does.
  writeFileSync(path, 'not json\n' + JSON.stringify({ t: 'start', at: T }) + '\n');
  assert.throws(() => new SessionJournal(path).read(), { message: /move it aside.*refused as possible replays/ });
});
