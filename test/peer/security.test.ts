// Security end to end, with a real tracker process and real engines (DESIGN.md "Peer links",
// "End-to-end encryption", "Tracker"): a sniffer on every wire sees no secret; forged, altered,
// replayed, misaddressed and misused messages are refused with an `error` and never shown; a
// changed identity key stops sending until it is verified; a changed tracker certificate is refused.
// "Not shown" is proved the STYLE.md way: a good marker message sent after the bad one, over the
// same link, arrives, and nothing else did.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { LABELS, exportPrivateKey, type Label, fromBase64Url, randomBytes, signPss, toBase64Url } from '../../protocol/crypto.ts';
import { FrameDecoder, PEER_FRAME_LIMIT } from '../../protocol/frame.ts';
import { DM_HEAD, dmRoom, type Envelope, type MessageBody, type SessionBundle } from '../../protocol/peer.ts';
import { deriveRoomPasswordKeys, eventHash, type RoomHead } from '../../protocol/room-log.ts';
import { deriveAccountKeys } from '../../peer/account.ts';
import type { EngineState } from '../../peer/data-folder.ts';
import type { PeerLink } from '../../peer/link.ts';
import {
  bundleSignedBytes, encryptMessage, envelopeSignedBytes, makeBundle, newOutboundSession, type OutboundSession,
} from '../../peer/sender-keys.ts';
import { normalizeFingerprint } from '../../protocol/crypto.ts';
import { FAST_SCRYPT_PARAMS } from '../helpers/accounts.ts';
import { PASSWORD, collect, makeEngine, registered, waitFor, type TestEngine } from '../helpers/engines.ts';
import {
  findSecrets, freePort, linkTo, savedKeys, startRecordingProxy, type AccountKeys, type Secret,
} from '../helpers/proxy.ts';
import { FAST_TRACKER_ARGS, REPO_ROOT, startTracker, type TrackerProcess } from '../helpers/tracker-process.ts';

const run = promisify(execFile);
const SLOW = { timeout: 120_000 };

/** The room's verified head as `engine` holds it (from its saved state, flushed first). */
function headOf(engine: TestEngine, room: string): RoomHead {
  engine.data.flush();
  const events = engine.data.loadState(engine.user!).rooms.get(room)?.events;
  assert.ok(events?.length, `${engine.user} holds no log for ${room}`);
  const last = events.at(-1)!;
  return { seq: last.seq, hash: eventHash(last) };
}

function body(text: string): MessageBody {
  return { id: toBase64Url(randomBytes(12)), time: Date.now(), text };
}

/** Resolves once `engine` emits an error with `code` (and a message matching `message`, if given). */
function errorWith(engine: TestEngine, code: string, message?: RegExp) {
  return waitFor(engine, 'error', (e) => e.code === code && (!message || message.test(e.message)));
}

// ---- a sniffer sees nothing ----------------------------------------------------------------------

test('a sniffer on the tracker link and the peer links sees no message text, password, room password, chain key or authKey', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const trackerTap = await startRecordingProxy(t, tracker);
  const via = { host: trackerTap.host, port: trackerTap.port };
  // Each engine listens on a fixed port and advertises a recording proxy in front of it, so every
  // link between them (whoever dials) passes a recorder.
  const [alicePort, bobPort] = [await freePort(), await freePort()];
  const aliceTap = await startRecordingProxy(t, { host: '127.0.0.1', port: alicePort });
  const bobTap = await startRecordingProxy(t, { host: '127.0.0.1', port: bobPort });
  const alice = await registered(t, via, 'alice', { peerPort: alicePort, advertisePort: aliceTap.port });
  const bob = await registered(t, via, 'bob', { peerPort: bobPort, advertisePort: bobTap.port });
  assert.equal(normalizeFingerprint(alice.trackerFingerprint!), normalizeFingerprint(tracker.fingerprint), 'TLS passed through: the real certificate is pinned');

  // Every chain key either engine ever stores: the inbound ones at the moment a bundle is opened
  // (index === start: the very key that was wrapped) and after; outbound chains are never stored.
  const chainKeys: { owner: string; room: string; index: number; start?: number; key: Buffer }[] = [];
  for (const engine of [alice, bob]) {
    const save = engine.data.saveState.bind(engine.data);
    // The engine builds its state lazily, when a batched write happens; build it at every save
    // here, so every chain key it ever held is seen.
    engine.data.saveState = (user: string, lazy: () => EngineState) => {
      const state = lazy();
      assert.equal((state as { outbound?: unknown }).outbound, undefined, 'my sender sessions are not in the state');
      for (const s of Object.values(state.inbound) as { room: string; index: number; start: number; chainKey: string; skipped: { key: string }[] }[]) {
        chainKeys.push({ owner: user, room: s.room, index: s.index, start: s.start, key: fromBase64Url(s.chainKey) });
        for (const k of s.skipped) chainKeys.push({ owner: user, room: s.room, index: -1, key: fromBase64Url(k.key) });
      }
      save(user, lazy);
    };
  }
  // And alice's state.json, read right after each send (what a thief of her disk would find):
  // no sender chain keys (they were written once and never used after a restart).
  let stateReads = 0;
  const readAliceState = () => {
    alice.data.flush();
    const state = JSON.parse(readFileSync(join(alice.data.userDir('alice'), 'state.json'), 'utf8')) as EngineState & { outbound?: unknown };
    assert.equal(state.outbound, undefined, "alice's state.json holds no outbound sessions");
    stateReads++;
  };

  const MARKER = `quokka-${randomBytes(6).toString('hex')}-zebra`;
  const ROOM_PASSWORD = 'saffron lighthouse 42 otter';
  const vault = await alice.createRoom('vault', { password: ROOM_PASSWORD });
  const joined = waitFor(alice, 'member_joined', (e) => e.user === 'bob');
  await bob.joinRoom('vault', ROOM_PASSWORD);
  await joined;

  const texts: string[] = [];
  for (let i = 0; i < 3; i++) {
    const text = `${MARKER} room message ${i} ${'lorem ipsum '.repeat(50)}`;
    texts.push(text);
    const got = waitFor(bob, 'message', (m) => m.text === text);
    await alice.sendRoom('vault', text);
    readAliceState();
    await got;
  }
  const reply = waitFor(alice, 'message', (m) => m.text === `${MARKER} reply from bob`);
  await bob.sendRoom('vault', `${MARKER} reply from bob`);
  await reply;
  const dmToBob = waitFor(bob, 'message', (m) => m.direct && m.text === `${MARKER} direct to bob`);
  await alice.sendDirect('bob', `${MARKER} direct to bob`);
  readAliceState();
  await dmToBob;
  const dmToAlice = waitFor(alice, 'message', (m) => m.direct && m.text === `${MARKER} direct to alice`);
  await bob.sendDirect('alice', `${MARKER} direct to alice`);
  await dmToAlice;

  // The secrets.
  const secrets: Secret[] = [
    { name: 'message marker', bytes: Buffer.from(MARKER, 'utf8') },
    { name: 'account password', bytes: Buffer.from(PASSWORD, 'utf8') },
    { name: 'room password', bytes: Buffer.from(ROOM_PASSWORD, 'utf8') },
  ];
  for (const engine of [alice, bob]) {
    const user = engine.user!;
    const salt = fromBase64Url(engine.data.salt(engine.trackerAddress, user)!);
    const derived = await deriveAccountKeys(PASSWORD, salt, FAST_SCRYPT_PARAMS);
    secrets.push({ name: `${user}'s authKey`, bytes: derived.authKey }, { name: `${user}'s keyKey`, bytes: derived.keyKey });
    const keys = savedKeys(engine, user);
    secrets.push(
      { name: `${user}'s private signing key`, bytes: exportPrivateKey(keys.signingKey) },
      { name: `${user}'s private encryption key`, bytes: exportPrivateKey(keys.encryptionKey) },
    );
  }
  alice.data.flush();
  const create = alice.data.loadState('alice').rooms.get(vault.id)!.events[0];
  secrets.push({ name: 'room proof key', bytes: (await deriveRoomPasswordKeys(ROOM_PASSWORD, create.salt!, FAST_SCRYPT_PARAMS)).proofKey });
  // Received sessions live in each engine's session journal, every version ever written in order.
  for (const engine of [alice, bob]) {
    for (const r of engine.data.sessionJournal(engine.user!).read()) {
      if (r.t !== 'in') continue;
      const s = r.s as { room: string; index: number; start: number; chainKey: string; skipped: { key: string }[] };
      chainKeys.push({ owner: engine.user!, room: s.room, index: s.index, start: s.start, key: fromBase64Url(s.chainKey) });
      for (const k of s.skipped) chainKeys.push({ owner: engine.user!, room: s.room, index: -1, key: fromBase64Url(k.key) });
    }
  }
  const uniqueKeys = [...new Map(chainKeys.map((c) => c.key).map((k) => [k.toString('hex'), k])).values()];
  uniqueKeys.forEach((key, i) => secrets.push({ name: `chain key #${i}`, bytes: key }));

  // The keys captured are the real ones: bob's journal recorded alice's first vault session after
  // her first message (the chain key alice used for the second).
  const afterFirst = chainKeys.find((c) => c.owner === 'bob' && c.room === vault.id && c.start === 0 && c.index === 1);
  assert.ok(afterFirst, "bob's session journal recorded alice's session after her first message");
  assert.ok(stateReads >= 4, 'read after every send');

  // The recordings hold what we think: TLS to the tracker, and links with a plaintext handshake
  // then sealed frames only. The scanner finds a value we know is there (the hello's ephemeral key).
  const trackerStreams = trackerTap.streams();
  assert.ok(trackerTap.connections.length >= 2 && trackerTap.bytes() > 10_000, `the tracker tap recorded ${trackerTap.bytes()} bytes`);
  for (const c of trackerTap.connections) assert.equal(c.up[0]?.[0], 0x16, 'each tracker connection opens with a TLS handshake record');
  const links = [...aliceTap.connections, ...bobTap.connections];
  assert.ok(links.length >= 1, 'at least one peer link passed a tap');
  const linkStreams = [...aliceTap.streams(), ...bobTap.streams()];
  const sent = texts.reduce((n, s) => n + s.length, 0);
  assert.ok(aliceTap.bytes() + bobTap.bytes() > sent, 'the taps carried the conversation');
  for (const c of links) {
    const up = new FrameDecoder(PEER_FRAME_LIMIT).push(Buffer.concat(c.up)) as { t: string; eph?: string }[];
    const down = new FrameDecoder(PEER_FRAME_LIMIT).push(Buffer.concat(c.down)) as { t: string }[];
    assert.deepEqual(up.slice(0, 2).map((f) => f.t), ['hello', 'hello_finish']);
    assert.deepEqual(down.slice(0, 1).map((f) => f.t), ['hello_reply']);
    assert.ok([...up.slice(2), ...down.slice(1)].every((f) => f.t === 'sealed'), 'after the handshake, sealed frames only');
    assert.deepEqual(findSecrets([Buffer.concat(c.up)], [{ name: 'eph', bytes: fromBase64Url(up[0].eph!) }]), ['eph'], 'the scanner sees base64url values');
  }

  assert.deepEqual(findSecrets(trackerStreams, secrets), [], 'nothing secret on the tracker link');
  assert.deepEqual(findSecrets(linkStreams, secrets), [], 'nothing secret on the peer links');
});

// ---- forged, altered, replayed, misaddressed, misused --------------------------------------------

/** A member's client by hand: sender sessions per room, announced to `to` before their first message. */
class HandClient {
  private readonly sessions = new Map<string, OutboundSession>();
  constructor(readonly me: AccountKeys, readonly link: PeerLink, readonly to: AccountKeys[]) {}

  session(room: string, head: RoomHead): { session: OutboundSession; bundle?: SessionBundle } {
    let session = this.sessions.get(room);
    if (session) return { session };
    session = newOutboundSession(room, head, Date.now());
    this.sessions.set(room, session);
    const bundle = makeBundle(session, this.me.user, this.me.signingKey, this.to.map((r) => ({ user: r.user, encryptionKey: r.encryptionPublic })));
    return { session, bundle };
  }

  /** A well-made envelope (and the bundle first, for a new session), not sent. */
  make(room: string, head: RoomHead, text: string): { bundle?: SessionBundle; envelope: Envelope } {
    const { session, bundle } = this.session(room, head);
    return { ...(bundle ? { bundle } : {}), envelope: encryptMessage(session, this.me.user, this.me.signingKey, body(text)) };
  }

  send(room: string, head: RoomHead, text: string): Envelope {
    const { bundle, envelope } = this.make(room, head, text);
    if (bundle) this.link.send({ t: 'session', bundle });
    this.link.send({ t: 'envelope', envelope });
    return envelope;
  }
}

/** Flips one bit in the middle of a base64url string and keeps it canonical. */
function tamper(b64: string): string {
  const bytes = fromBase64Url(b64);
  bytes[Math.floor(bytes.length / 2)] ^= 0x01;
  return toBase64Url(bytes);
}

function resign(env: Omit<Envelope, 'sig'>, key: AccountKeys, label: Label = LABELS.message): Envelope {
  return { ...env, sig: toBase64Url(signPss(key.signingKey, label, envelopeSignedBytes(env))) };
}

interface Lab {
  tracker: TrackerProcess;
  bob: TestEngine;
  lab: string;
  annex: string;
  keys: Record<'alice' | 'bob' | 'mallory' | 'eve', AccountKeys>;
}

/**
 * alice owns `lab` (bob and mallory joined) and `annex` (bob joined); eve is in no room. Then
 * alice's engine is closed: from here the test speaks for her with her own keys.
 */
async function lab(t: TestContext): Promise<Lab> {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const mallory = await registered(t, tracker, 'mallory');
  const eve = await registered(t, tracker, 'eve');
  const { id: labId } = await alice.createRoom('lab');
  const { id: annex } = await alice.createRoom('annex');
  await bob.joinRoom('lab');
  const seen = waitFor(bob, 'member_joined', (e) => e.room === 'lab' && e.user === 'mallory');
  await mallory.joinRoom('lab');
  await seen;
  await bob.joinRoom('annex');
  const keys = { alice: savedKeys(alice, 'alice'), bob: savedKeys(bob, 'bob'), mallory: savedKeys(mallory, 'mallory'), eve: savedKeys(eve, 'eve') };
  const gone = Promise.all(['alice', 'mallory', 'eve'].map((u) => waitFor(bob, 'presence', (p) => p.user === u && !p.online)));
  await Promise.all([alice.close(), mallory.close(), eve.close()]);
  await gone;
  return { tracker, bob, lab: labId, annex, keys };
}

test('a tampered ciphertext, a forged sender and a signature made for another use are refused; nothing is shown', SLOW, async (t) => {
  const { bob, lab: room, keys } = await lab(t);
  const head = headOf(bob, room);
  const shown = collect(bob, 'message');
  const alice = new HandClient(keys.alice, await linkTo(t, bob, keys.alice, keys.bob), [keys.bob, keys.mallory]);
  const mallory = new HandClient(keys.mallory, await linkTo(t, bob, keys.mallory, keys.bob), [keys.bob]);

  // The harness works: a well-made message from alice is shown.
  const first = waitFor(bob, 'message', (m) => m.text === 'alice 1');
  alice.send(room, head, 'alice 1');
  await first;

  // Ciphertext altered on the way: the signature over it fails.
  let err = errorWith(bob, 'message.bad_signature', /from alice/);
  const { envelope: e2 } = alice.make(room, head, 'alice 2 (tampered)');
  alice.link.send({ t: 'envelope', envelope: { ...e2, ct: tamper(e2.ct) } });
  await err;
  // Altered and signed again by the sender herself: the signature holds, AES-GCM does not.
  err = errorWith(bob, 'message.decrypt_failed');
  const { envelope: e3 } = alice.make(room, head, 'alice 3 (tampered, re-signed)');
  const { sig: _sig, ...unsigned3 } = { ...e3, ct: tamper(e3.ct) };
  alice.link.send({ t: 'envelope', envelope: resign(unsigned3, keys.alice) });
  await err;

  // A signature made for another use: alice's key over the envelope's bytes, under the
  // session-bundle and room-event labels; and her create event's real signature.
  for (const [label, text] of [[LABELS.sessionBundle, 'alice 4 (bundle label)'], [LABELS.roomEvent, 'alice 5 (room-event label)']] as const) {
    err = errorWith(bob, 'message.bad_signature');
    const { envelope } = alice.make(room, head, text);
    const { sig: _s, ...unsigned } = envelope;
    alice.link.send({ t: 'envelope', envelope: resign(unsigned, keys.alice, label) });
    await err;
  }
  bob.data.flush();
  const createSig = bob.data.loadState('bob').rooms.get(room)!.events[0].sig;
  err = errorWith(bob, 'message.bad_signature');
  alice.link.send({ t: 'envelope', envelope: { ...alice.make(room, head, 'alice 6 (create event sig)').envelope, sig: createSig } });
  await err;
  // A bundle signed under the message label: refused, and its session's message has no key.
  const sneaky = newOutboundSession(room, head, Date.now());
  const good = makeBundle(sneaky, 'alice', keys.alice.signingKey, [{ user: 'bob', encryptionKey: keys.bob.encryptionPublic }]);
  const { sig: _b, ...unsignedBundle } = good;
  err = errorWith(bob, 'session.bad_signature');
  alice.link.send({ t: 'session', bundle: { ...unsignedBundle, sig: toBase64Url(signPss(keys.alice.signingKey, LABELS.message, bundleSignedBytes(unsignedBundle))) } });
  await err;
  err = errorWith(bob, 'request.invalid', /without its session key/);
  alice.link.send({ t: 'envelope', envelope: encryptMessage(sneaky, 'alice', keys.alice.signingKey, body('alice 7 (mislabelled bundle)')) });
  await err;

  const marker = waitFor(bob, 'message', (m) => m.text === 'alice marker');
  alice.send(room, head, 'alice marker');
  await marker;

  // Mallory, a member who holds alice's chain key (alice wrapped it for her too), makes an
  // envelope in alice's session that claims alice as sender and signs it with her own key.
  const { session: alicesSession } = alice.session(room, head);
  const stolen: OutboundSession = { ...alicesSession, chainKey: Buffer.from(alicesSession.chainKey) };
  err = errorWith(bob, 'message.bad_signature', /from mallory/);
  mallory.link.send({ t: 'envelope', envelope: encryptMessage(stolen, 'alice', keys.mallory.signingKey, body('mallory as alice')) });
  await err;
  // ... and a new session in alice's name, signed by mallory.
  const forged = newOutboundSession(room, head, Date.now());
  err = errorWith(bob, 'session.bad_signature', /from mallory/);
  mallory.link.send({ t: 'session', bundle: makeBundle(forged, 'alice', keys.mallory.signingKey, [{ user: 'bob', encryptionKey: keys.bob.encryptionPublic }]) });
  await err;
  err = errorWith(bob, 'request.invalid', /without its session key/);
  mallory.link.send({ t: 'envelope', envelope: encryptMessage(forged, 'alice', keys.mallory.signingKey, body('mallory as alice, own session')) });
  await err;
  // Mallory's own message, in her own name, is fine: the marker on her link.
  const malloryMarker = waitFor(bob, 'message', (m) => m.text === 'mallory marker');
  mallory.send(room, head, 'mallory marker');
  await malloryMarker;

  assert.deepEqual(shown.map((m) => `${m.from}: ${m.text}`), ['alice: alice 1', 'alice: alice marker', 'mallory: mallory marker']);
});

test('a replayed envelope is refused, also after the receiver restarts', SLOW, async (t) => {
  const { tracker, bob, lab: room, keys } = await lab(t);
  const head = headOf(bob, room);
  const shown = collect(bob, 'message');
  const alice = new HandClient(keys.alice, await linkTo(t, bob, keys.alice, keys.bob), [keys.bob]);

  const got = waitFor(bob, 'message', (m) => m.text === 'once');
  const { bundle, envelope } = alice.make(room, head, 'once');
  alice.link.send({ t: 'session', bundle: bundle! });
  alice.link.send({ t: 'envelope', envelope });
  await got;
  // The same envelope again, on the same link (a new link frame: only the envelope is replayed):
  // history knows it was shown, so it is dropped as a duplicate (as a second forwarder's copy is).
  alice.link.send({ t: 'envelope', envelope });
  const marker = waitFor(bob, 'message', (m) => m.text === 'marker before restart');
  alice.send(room, head, 'marker before restart');
  await marker;

  // Bob's engine restarts on the same data folder; the replay comes over a new link, with the
  // bundle replayed first (it must not reset the chain he holds).
  await bob.close();
  const bob2 = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  const shown2 = collect(bob2, 'message');
  assert.equal(await bob2.resume(), true);
  const again = new HandClient(keys.alice, await linkTo(t, bob2, keys.alice, keys.bob), [keys.bob]);
  again.link.send({ t: 'session', bundle: bundle! });
  again.link.send({ t: 'envelope', envelope });
  // The session itself survived the restart: alice's next message in it is shown.
  const after = waitFor(bob2, 'message', (m) => m.text === 'marker after restart');
  alice.link.close();
  const { envelope: next } = alice.make(room, head, 'marker after restart');
  again.link.send({ t: 'envelope', envelope: next });
  await after;

  assert.deepEqual(shown.map((m) => m.text), ['once', 'marker before restart']);
  assert.deepEqual(shown2.map((m) => m.text), ['marker after restart']);
});

test('a non-member, and a session bundle re-addressed to another member or room, are refused', SLOW, async (t) => {
  const { bob, lab: room, annex, keys } = await lab(t);
  const head = headOf(bob, room);
  const annexHead = headOf(bob, annex);
  const shown = collect(bob, 'message');

  // Eve is in no room: her session and her message for lab are refused.
  const eve = new HandClient(keys.eve, await linkTo(t, bob, keys.eve, keys.bob), [keys.bob]);
  let err = errorWith(bob, 'room.not_member', /from eve/);
  const { bundle: eveBundle, envelope: eveEnvelope } = eve.make(room, head, 'eve in lab');
  eve.link.send({ t: 'session', bundle: eveBundle! });
  await err;
  err = errorWith(bob, 'room.not_member', /from eve/);
  eve.link.send({ t: 'envelope', envelope: eveEnvelope });
  await err;
  // Her direct message is fine: bob and eve may talk.
  const eveMarker = waitFor(bob, 'message', (m) => m.text === 'eve marker');
  eve.send(dmRoom('bob', 'eve'), DM_HEAD, 'eve marker');
  await eveMarker;

  const alice = new HandClient(keys.alice, await linkTo(t, bob, keys.alice, keys.bob), [keys.mallory]);
  // A genuine bundle of alice's that was addressed to mallory only.
  const toMallory = alice.make(room, head, 'for mallory only');
  err = errorWith(bob, 'session.not_for_me');
  alice.link.send({ t: 'session', bundle: toMallory.bundle! });
  await err;
  err = errorWith(bob, 'request.invalid', /without its session key/);
  alice.link.send({ t: 'envelope', envelope: toMallory.envelope });
  await err;
  // The same bundle with mallory's wrap relabelled for bob.
  err = errorWith(bob, 'session.bad_signature');
  alice.link.send({ t: 'session', bundle: { ...toMallory.bundle!, wraps: [{ to: 'bob', key: toMallory.bundle!.wraps[0].key }] } });
  await err;

  // A genuine bundle for bob in lab, moved to annex (where alice and bob are members too).
  const forBob = new HandClient(keys.alice, alice.link, [keys.bob]);
  const labMessage = forBob.make(room, head, 'lab message');
  err = errorWith(bob, 'session.bad_signature');
  alice.link.send({ t: 'session', bundle: { ...labMessage.bundle!, room: annex, head: annexHead } });
  await err;
  err = errorWith(bob, 'request.invalid', /without its session key/);
  alice.link.send({ t: 'envelope', envelope: { ...labMessage.envelope, room: annex, head: annexHead } });
  await err;
  // Sent where it belongs, the same bundle and envelope are fine: the marker.
  const marker = waitFor(bob, 'message', (m) => m.text === 'lab message');
  alice.link.send({ t: 'session', bundle: labMessage.bundle! });
  alice.link.send({ t: 'envelope', envelope: labMessage.envelope });
  await marker;

  assert.deepEqual(shown.map((m) => `${m.room}/${m.from}: ${m.text}`), ['dm:bob:eve/eve: eve marker', 'lab/alice: lab message']);
});

test('a direct message under a name that is not the pair\'s room (dm:bob:alice) is refused before it is opened or acknowledged', SLOW, async (t) => {
  const { bob, keys } = await lab(t);
  const shown = collect(bob, 'message');
  const errors = collect(bob, 'error');
  const alice = new HandClient(keys.alice, await linkTo(t, bob, keys.alice, keys.bob), [keys.bob]);
  const acked: string[] = [];
  const markerAcked = new Promise<void>((resolve) => alice.link.on('message', (m) => {
    if (m.t !== 'ack') return;
    acked.push(m.room);
    if (m.room === 'dm:alice:bob') resolve();
  }));
  alice.send('dm:bob:alice', DM_HEAD, 'under a reversed name');
  alice.send('dm:alice:bob', DM_HEAD, 'marker');
  await markerAcked;
  assert.deepEqual(shown.map((m) => `${m.room}: ${m.text}`), ['dm:alice:bob: marker']);
  assert.deepEqual(acked, ['dm:alice:bob'], 'only the marker was acknowledged');
  // The session key and the message under that name are each refused, with a reason.
  assert.ok(errors.length >= 1, 'the refusal is reported');
  for (const e of errors) assert.notEqual(e.code, 'internal', `refused with a reason, not a TypeError: ${e.message}`);
});

// ---- identities and the tracker's certificate --------------------------------------------------

test("a changed identity key: key_changed, nothing sent to that user until verify, then messages flow again", SLOW, async (t) => {
  const first = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const tracker = { host: first.host, port: first.port };
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const carol = await registered(t, tracker, 'carol');
  const ops = await bob.createRoom('ops');
  await alice.joinRoom('ops');
  const carolIn = waitFor(bob, 'member_joined', (e) => e.user === 'carol');
  await carol.joinRoom('ops');
  await carolIn;
  const hi = waitFor(bob, 'message', (m) => m.text === 'hi from the old key');
  await alice.sendDirect('bob', 'hi from the old key');
  await hi;
  const oldFingerprint = alice.fingerprint().fingerprint;
  assert.equal(bob.fingerprint('alice').fingerprint, oldFingerprint);

  // An admin deletes alice (the running tracker shares the database) and someone registers the
  // name again: the tracker now serves other keys for alice.
  await alice.close();
  const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'tracker'), 'users', 'delete', 'alice', '--force', '--db', first.dbPath]);
  assert.match(stdout, /deleted alice/);

  const changed = waitFor(bob, 'key_changed', (e) => e.user === 'alice');
  const bobErrors = collect(bob, 'error');
  const fromAlice = collect(bob, 'message');
  // The tracker kept the name alice in ops, so the new alice is listed there, and her engine
  // refuses the room log: the join in it was signed by the old alice's key.
  const alice2 = await registered(t, tracker, 'alice', { expectErrors: [(e) => e.code === 'room.bad_signature' && /join event is not signed by alice/.test(e.message)] });
  const newFingerprint = alice2.fingerprint().fingerprint;
  assert.notEqual(newFingerprint, oldFingerprint);
  assert.deepEqual(await changed, { user: 'alice', oldFingerprint, newFingerprint, rooms: ['ops'], roomIds: [ops.id] });
  const toAlice2 = collect(alice2, 'message');

  // Nothing goes to the new key: not a direct message, not a room message.
  let blocked = errorWith(bob, 'key_changed', /verify alice/);
  assert.equal((await bob.sendDirect('alice', 'not for the new key')).recipients, 0);
  await blocked;
  blocked = errorWith(bob, 'key_changed', /verify alice/);
  const carolGot = waitFor(carol, 'message', (m) => m.text === 'room, unverified');
  assert.equal((await bob.sendRoom('ops', 'room, unverified')).recipients, 1, 'carol only');
  await blocked;
  await carolGot;
  // And nothing from the new key is shown: its link is refused (signature against the old pin).
  const refused = waitFor(bob, 'error', (e) => /refused a peer link/.test(e.message));
  assert.equal((await alice2.sendDirect('bob', 'from the new key, unverified')).recipients, 1);
  await refused;

  assert.equal(fromAlice.length, 0, 'nothing from the new key is shown before verify');

  // Bob compares fingerprints out of band and accepts the new key.
  assert.deepEqual(await bob.verify('alice', newFingerprint), { user: 'alice', fingerprint: newFingerprint });
  assert.equal(bob.fingerprint('alice').verified, true);
  const got2 = waitFor(alice2, 'message', (m) => m.text === 'welcome, new key');
  assert.equal((await bob.sendDirect('alice', 'welcome, new key')).recipients, 1);
  await got2;
  const gotBob = waitFor(bob, 'message', (m) => m.text === 'thanks from the new key');
  await alice2.sendDirect('bob', 'thanks from the new key');
  await gotBob;
  assert.equal((await bob.sendRoom('ops', 'room, verified')).recipients, 2, 'alice is a recipient again');

  assert.deepEqual(toAlice2.map((m) => m.text), ['welcome, new key']);
  // The message alice2 sent before bob verified waited in her outbox and arrives now, after verify.
  if (!fromAlice.some((m) => m.text === 'from the new key, unverified')) await waitFor(bob, 'message', (m) => m.text === 'from the new key, unverified');
  assert.deepEqual(fromAlice.map((m) => m.text).sort(), ['from the new key, unverified', 'thanks from the new key']);
  assert.ok(bobErrors.some((e) => e.code === 'key_changed'));
});

test('after a changed key is verified, the engine still restarts with the rooms it shares with that user', SLOW, async (t) => {
  const first = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const tracker = { host: first.host, port: first.port };
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  await bob.createRoom('ops');
  const joined = waitFor(bob, 'member_joined', (e) => e.user === 'alice');
  await alice.joinRoom('ops');
  await joined;
  await alice.close();
  await run(process.execPath, [join(REPO_ROOT, 'tracker'), 'users', 'delete', 'alice', '--force', '--db', first.dbPath]);
  const changed = waitFor(bob, 'key_changed', (e) => e.user === 'alice');
  // The tracker kept the name alice in ops, so the new alice is listed there, and her engine
  // refuses the room log: the join in it was signed by the old alice's key.
  const alice2 = await registered(t, tracker, 'alice', { expectErrors: [(e) => e.code === 'room.bad_signature' && /join event is not signed by alice/.test(e.message)] });
  await changed;
  await bob.verify('alice', alice2.fingerprint().fingerprint);

  // Bob's saved log of ops holds alice's join, signed by the key she had then.
  await bob.close();
  const bob2 = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  assert.equal(await bob2.resume(), true, 'bob resumes from his data folder');
  assert.deepEqual(bob2.joinedRooms().map((r) => r.name), ['ops']);
  const got = waitFor(alice2, 'message', (m) => m.text === 'back after the restart');
  await bob2.sendDirect('alice', 'back after the restart');
  await got;
});

test("a changed tracker certificate is refused, showing both fingerprints, on reconnect and on login", SLOW, async (t) => {
  const first = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const tracker = { host: first.host, port: first.port };
  const alice = await registered(t, tracker, 'alice');
  const pinned = normalizeFingerprint(first.fingerprint);

  const offline = waitFor(alice, 'connection', (c) => c.state === 'offline', 30_000);
  await first.stop();
  // The tracker makes a new certificate when its files are gone (or an impostor has its own).
  rmSync(join(first.dir, 'tracker-cert.pem'));
  rmSync(join(first.dir, 'tracker-key.pem'));
  const second = await startTracker(t, { dir: first.dir, args: [...FAST_TRACKER_ARGS, '--port', String(first.port)] });
  const presented = normalizeFingerprint(second.fingerprint);
  assert.notEqual(presented, pinned);

  const { detail } = await offline;
  const flat = normalizeFingerprint(detail);
  assert.ok(flat.includes(pinned) && flat.includes(presented), `the detail shows both fingerprints: ${detail}`);

  // A new engine on the same data folder refuses too, with and without the password.
  const again = await makeEngine(t, tracker, { dataDir: alice.dataDir });
  const bothShown = (err: unknown) => {
    const flatMessage = normalizeFingerprint((err as Error).message);
    return flatMessage.includes(pinned) && flatMessage.includes(presented);
  };
  await assert.rejects(again.login('alice', PASSWORD), bothShown);
  await assert.rejects(again.resume('alice'), bothShown);
  assert.equal(again.user, undefined);
});

// ---- former members --------------------------------------------------------------------------

test('a kicked member cannot post by signing at a log head from before the kick', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const carol = await registered(t, tracker, 'carol');
  const { id } = await alice.createRoom('crew');
  const joined = Promise.all([alice, bob].map((e) => waitFor(e, 'member_joined', (j) => j.user === 'carol')));
  await bob.joinRoom('crew');
  await carol.joinRoom('crew');
  await joined;
  const carolKeys = savedKeys(carol, 'carol');
  const bobKeys = savedKeys(bob, 'bob');
  // The head at which carol was still a member, as bob holds it.
  assert.ok(carol.joinedRooms().some((r) => r.id === id));
  carol.data.flush();
  const oldHead = carol.data.loadState('carol').rooms.get(id)!.events.at(-1)!;
  const head: RoomHead = { seq: oldHead.seq, hash: eventHash(oldHead) };

  const kicked = waitFor(bob, 'member_kicked', (e) => e.user === 'carol');
  await alice.kick('crew', 'carol');
  await kicked;

  const shown = collect(bob, 'message');
  // Her new session's key is refused (the kick names the sessions she had sent in), then its message.
  const refused = waitFor(bob, 'error', (e) => e.code === 'room.not_member' && /session key from carol/.test(e.message));
  const noKey = waitFor(bob, 'error', (e) => e.code === 'request.invalid' && /from carol arrived without its session key/.test(e.message));
  const hand = new HandClient(carolKeys, await linkTo(t, bob, carolKeys, bobKeys), [bobKeys]);
  hand.send(id, head, 'posted after the kick');
  await Promise.all([refused, noKey]);
  const marker = waitFor(bob, 'message', (m) => m.text === 'marker');
  await alice.sendRoom('crew', 'marker');
  await marker;
  assert.deepEqual(shown.map((m) => m.text), ['marker']);
});
