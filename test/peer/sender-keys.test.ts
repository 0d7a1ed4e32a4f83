// peer/sender-keys against DESIGN.md "End-to-end encryption": members read each other's room
// messages, and everything forged, altered, misaddressed, replayed or kept too long is refused
// with its code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  LABELS, aesGcmDecrypt, generateRsaKeyPair, randomBytes, signPss, toBase64Url, type RsaKeyPair,
} from '../../protocol/crypto.ts';
import { canonicalBytes } from '../../protocol/canonical.ts';
import { messageId } from '../../protocol/message-id.ts';
import { DM_HEAD, MAX_TEXT_BYTES, SESSION_MAX_AGE_MS, SESSION_MAX_MESSAGES, dmRoom, envelopeSchema, sessionBundleSchema, type Envelope, type MessageBody, type SessionBundle } from '../../protocol/peer.ts';
import type { RoomHead } from '../../protocol/room-log.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import {
  MAX_SKIPPED, bundleSignedBytes, decryptEnvelope, deriveMessageKey, deriveNextChainKey,
  deserializeInbound, deserializeOutbound, encryptMessage, envelopeSignedBytes, makeBundle, needsRotation, sealBody,
  newOutboundSession, openBundle, serializeInbound, serializeOutbound, type OutboundSession,
} from '../../peer/sender-keys.ts';

// ---- fixtures: 4 users, each with a signing and an encryption key pair (generated once) --------

const NAMES = ['alice', 'bob', 'carol', 'mallory'] as const;
type Name = (typeof NAMES)[number];
const pairs = await Promise.all(NAMES.flatMap(() => [generateRsaKeyPair(), generateRsaKeyPair()]));
const keys = Object.fromEntries(NAMES.map((n, i) => [n, { sign: pairs[2 * i], enc: pairs[2 * i + 1] }])) as
  Record<Name, { sign: RsaKeyPair; enc: RsaKeyPair }>;

const ROOM = toBase64Url(randomBytes(32));
const OTHER_ROOM = toBase64Url(randomBytes(32));
const HEAD: RoomHead = { seq: 4, hash: toBase64Url(randomBytes(32)) };
const NEXT_HEAD: RoomHead = { seq: 5, hash: toBase64Url(randomBytes(32)) };
const NOW = 1_700_000_000_000;

const recipient = (n: Name) => ({ user: n, encryptionKey: keys[n].enc.publicKey });
const me = (n: Name) => ({ user: n, encryptionKey: keys[n].enc.privateKey });
const signer = (n: Name) => keys[n].sign.privateKey;
const pinned = (n: Name) => keys[n].sign.publicKey;

let ids = 0;
const body = (text: string, extra: Partial<MessageBody> = {}): MessageBody => ({ id: `m${++ids}`, time: NOW, text, ...extra });

function rejects(fn: () => unknown, code: string, what = code): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, `${what}: expected ProtocolError, got ${String(e)}`);
    assert.equal(e.code, code, what);
    return true;
  });
}

/** A different, still valid base64url string (changes the first character). */
function tamper(s: string): string {
  return (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
}

/** Alice's session announced to bob and carol, both opened. */
function setup(room = ROOM, head = HEAD) {
  const out = newOutboundSession(room, head, NOW);
  const bundle = makeBundle(out, 'alice', signer('alice'), [recipient('bob'), recipient('carol')]);
  const bob = openBundle(bundle, me('bob'), pinned('alice'));
  const carol = openBundle(bundle, me('carol'), pinned('alice'));
  return { out, bundle, bob, carol };
}

/** Re-signs an altered envelope with alice's real key: what only the signature stopped until now. */
function resignEnvelope(env: Envelope, by: Name = 'alice'): Envelope {
  const { sig: _sig, ...unsigned } = env;
  return { ...unsigned, sig: toBase64Url(signPss(signer(by), LABELS.message, envelopeSignedBytes(unsigned))) };
}

function resignBundle(b: SessionBundle, by: Name = 'alice'): SessionBundle {
  const { sig: _sig, ...unsigned } = b;
  return { ...unsigned, sig: toBase64Url(signPss(signer(by), LABELS.sessionBundle, bundleSignedBytes(unsigned))) };
}

/** Moves a session's chain on n steps without sending (to reach far indexes cheaply). */
function fastForward(s: OutboundSession, n: number): void {
  for (let i = 0; i < n; i++) s.chainKey = deriveNextChainKey(s.chainKey);
  s.next += n;
}

// ---- it works --------------------------------------------------------------------------------

test('round trip: alice encrypts once, bob and carol both read every message', () => {
  const { out, bundle, bob, carol } = setup();
  assert.deepEqual(sessionBundleSchema.parse(JSON.parse(JSON.stringify(bundle))), bundle, 'bundle is a valid wire value');
  const sent = [
    body('hello **team**'),
    body('see this', { snippet: { language: 'ts', path: 'src/a.ts', startLine: 3, endLine: 9, code: 'const x = 1;\n' } }),
    body(''),
  ];
  for (const [i, m] of sent.entries()) {
    const env = encryptMessage(out, 'alice', signer('alice'), m);
    assert.equal(env.seq, i);
    assert.deepEqual(envelopeSchema.parse(JSON.parse(JSON.stringify(env))), env, 'envelope is a valid wire value');
    assert.ok(!env.ct.includes(Buffer.from(m.text).toString('base64url')) || m.text === '', 'ciphertext is not the text');
    assert.equal(decryptEnvelope(env, bob, pinned('alice')).id, messageId(env), 'the id is derived from the envelope');
    assert.deepEqual(decryptEnvelope(env, carol, pinned('alice')), { ...m, id: messageId(env) });
  }
  assert.equal(out.next, 3);
  assert.equal(bob.index, 3);
  assert.equal(carol.index, 3);
});

test('a direct-message room works with its fixed head', () => {
  const room = dmRoom('bob', 'alice');
  const out = newOutboundSession(room, DM_HEAD, NOW);
  const bob = openBundle(makeBundle(out, 'alice', signer('alice'), [recipient('bob')]), me('bob'), pinned('alice'));
  const m = body('just us');
  const env = encryptMessage(out, 'alice', signer('alice'), m);
  assert.deepEqual(decryptEnvelope(env, bob, pinned('alice')), { ...m, id: messageId(env) });
});

test('a 64 KiB text and 4-byte emoji arrive byte for byte', () => {
  const { out, bob } = setup();
  const pattern = 'line "quoted" \\ back\tslash\n';
  const big = pattern.repeat(Math.ceil(MAX_TEXT_BYTES / pattern.length)).slice(0, MAX_TEXT_BYTES);
  assert.equal(Buffer.byteLength(big), MAX_TEXT_BYTES);
  const emoji = '😀👍🏽🇸🇪🧑‍💻 e\u0301 𝄞'.repeat(3);
  const emojiMax = '😀'.repeat(MAX_TEXT_BYTES / 4); // 64 KiB of 4-byte UTF-8, 32 Ki UTF-16 units
  assert.equal(Buffer.byteLength(emojiMax), MAX_TEXT_BYTES);
  for (const text of [big, emoji, emojiMax]) {
    const got = decryptEnvelope(encryptMessage(out, 'alice', signer('alice'), body(text)), bob, pinned('alice'));
    assert.ok(Buffer.from(got.text, 'utf8').equals(Buffer.from(text, 'utf8')), 'same bytes');
  }
});

test('a body whose ciphertext would not fit an envelope is refused before anything is sent', () => {
  const { out } = setup();
  // 64 Ki CJK characters are 192 KiB of UTF-8: the schema counts bytes and refuses them.
  assert.throws(() => encryptMessage(out, 'alice', signer('alice'), body('中'.repeat(MAX_TEXT_BYTES))), { code: 'request.invalid' });
  // Text and snippet each within 64 KiB, but all control characters: JSON escapes them six-fold.
  const control = '\u0001'.repeat(MAX_TEXT_BYTES);
  const snippet = { language: 'txt', path: 'a.txt', startLine: 1, endLine: 1, code: control };
  rejects(() => encryptMessage(out, 'alice', signer('alice'), { ...body(control), snippet }), 'message.too_large');
  assert.equal(out.next, 0, 'the chain did not move');
  assert.throws(() => encryptMessage(out, 'alice', signer('alice'), { time: -1, text: 'x' }), { code: 'request.invalid' });
});

test("a body carrying any id but its envelope's own is refused (no member can give a message another's id)", () => {
  const { out, bob } = setup();
  const first = encryptMessage(out, 'alice', signer('alice'), body('the original'));
  assert.equal(decryptEnvelope(first, bob, pinned('alice')).id, messageId(first));
  // Ids of different coordinates differ: sender, session, seq and room each change it.
  const at = { room: first.room, sender: 'alice', session: first.session, seq: first.seq };
  const ids = new Set([messageId(at), messageId({ ...at, sender: 'mallory' }), messageId({ ...at, seq: 1 }), messageId({ ...at, session: 'x'.repeat(22) }), messageId({ ...at, room: 'other' })]);
  assert.equal(ids.size, 5);
  assert.match(messageId(at), /^[A-Za-z0-9_-]{16}$/);
  // A modified client seals its next message under the first one's id: refused when opened.
  const copy = sealBody(out, 'alice', signer('alice'), { id: messageId(first), time: NOW, text: 'a copy' });
  rejects(() => decryptEnvelope(copy, bob, pinned('alice')), 'message.bad_id');
});

test('out-of-order delivery: seq 5 before 2 works, then the rest, each once', () => {
  const { out, bob } = setup();
  const sent = Array.from({ length: 6 }, (_, i) => body(`msg ${i}`));
  const envs = sent.map((m) => encryptMessage(out, 'alice', signer('alice'), m));
  for (const i of [5, 2, 0, 4, 1, 3]) {
    assert.deepEqual(decryptEnvelope(envs[i], bob, pinned('alice')), { ...sent[i], id: messageId(envs[i]!) }, `seq ${i}`);
  }
  assert.equal(bob.index, 6);
  assert.equal(bob.skipped.size, 0, 'every kept key was used and deleted');
  for (const i of [5, 2]) rejects(() => decryptEnvelope(envs[i], bob, pinned('alice')), 'message.key_used', `seq ${i} again`);
});

test('a seq beyond what a session may carry is refused; the last one works and keeps at most MAX_SKIPPED keys', () => {
  const { out, bob } = setup();
  const at = (seq: number) => {
    const s = { ...out, chainKey: Buffer.from(out.chainKey) };
    fastForward(s, seq - s.next);
    return encryptMessage(s, 'alice', signer('alice'), body(`at ${seq}`));
  };
  assert.equal(MAX_SKIPPED, SESSION_MAX_MESSAGES, 'an honest session never skips more than it may carry');
  const first = encryptMessage({ ...out, chainKey: Buffer.from(out.chainKey) }, 'alice', signer('alice'), body('zero'));
  // Earlier versions took seq up to 2000 ahead: each such message made the receiver derive and keep 2000 keys.
  for (const seq of [SESSION_MAX_MESSAGES, SESSION_MAX_MESSAGES + 1, 2000]) {
    rejects(() => decryptEnvelope(at(seq), bob, pinned('alice')), 'message.too_far_ahead', `seq ${seq}`);
  }
  assert.equal(bob.index, 0);
  assert.equal(bob.skipped.size, 0, 'nothing derived for a refused seq');
  const last = SESSION_MAX_MESSAGES - 1;
  assert.equal(decryptEnvelope(at(last), bob, pinned('alice')).text, `at ${last}`);
  assert.equal(bob.skipped.size, last);
  assert.ok(bob.skipped.size <= MAX_SKIPPED);
  assert.equal(decryptEnvelope(first, bob, pinned('alice')).text, 'zero', 'a skipped key still opens its message');
  rejects(() => decryptEnvelope(first, bob, pinned('alice')), 'message.key_used', 'once only');
});

test('a stored session of an earlier version with 2000 skipped keys loads with the newest MAX_SKIPPED', () => {
  const { bob } = setup();
  bob.index = 2000;
  for (let seq = 0; seq < 2000; seq++) bob.skipped.set(seq, randomBytes(32));
  const loaded = deserializeInbound(serializeInbound(bob));
  assert.equal(loaded.skipped.size, MAX_SKIPPED);
  assert.deepEqual([...loaded.skipped.keys()], Array.from({ length: MAX_SKIPPED }, (_, i) => 2000 - MAX_SKIPPED + i));
});

// ---- altered envelopes -----------------------------------------------------------------------

test('tampered ct or iv: the signature fails first, and GCM alone would still refuse it', () => {
  const { out, bob } = setup();
  const env = encryptMessage(out, 'alice', signer('alice'), body('pay bob 10'));
  for (const field of ['ct', 'iv'] as const) {
    const bad = { ...env, [field]: tamper(env[field]) };
    rejects(() => decryptEnvelope(bad, bob, pinned('alice')), 'message.bad_signature', `${field} tampered`);
    rejects(() => decryptEnvelope(resignEnvelope(bad), bob, pinned('alice')), 'message.decrypt_failed', `${field} tampered, re-signed`);
  }
  // A truncated ciphertext (tag cut off), re-signed, fails too.
  const cut = resignEnvelope({ ...env, ct: env.ct.slice(0, 8) });
  rejects(() => decryptEnvelope(cut, bob, pinned('alice')), 'message.decrypt_failed', 'ct truncated');
  // None of the failures moved the chain or spent the key: the real envelope still opens, once.
  assert.equal(bob.index, 0);
  assert.equal(decryptEnvelope(env, bob, pinned('alice')).text, 'pay bob 10');
  rejects(() => decryptEnvelope(env, bob, pinned('alice')), 'message.key_used');
});

test('tampered seq, head or room in the envelope is refused', () => {
  const { out, bob } = setup();
  const envs = [0, 1].map((i) => encryptMessage(out, 'alice', signer('alice'), body(`m${i}`)));
  const env = envs[0];
  // seq: the key for 1 exists, the signature does not cover seq 1 with this ciphertext.
  rejects(() => decryptEnvelope({ ...env, seq: 1 }, bob, pinned('alice')), 'message.bad_signature', 'seq');
  rejects(() => decryptEnvelope(resignEnvelope({ ...env, seq: 1 }), bob, pinned('alice')), 'message.decrypt_failed', 'seq, re-signed (AAD)');
  // head and room: not this session's (cheap check, before RSA)...
  const moved: Envelope[] = [{ ...env, head: NEXT_HEAD }, { ...env, head: { ...HEAD, seq: HEAD.seq + 1 } }, { ...env, room: OTHER_ROOM }];
  for (const bad of moved) rejects(() => decryptEnvelope(bad, bob, pinned('alice')), 'message.wrong_session', JSON.stringify(bad.head) + bad.room);
  // ...and even against a session record that agrees with the tampered value, the signature and
  // then the AAD refuse it.
  for (const bad of moved) {
    const fake = deserializeInbound({ ...serializeInbound(bob), room: bad.room, head: bad.head });
    rejects(() => decryptEnvelope(bad, fake, pinned('alice')), 'message.bad_signature', 'signature binds head/room');
    rejects(() => decryptEnvelope(resignEnvelope(bad), fake, pinned('alice')), 'message.decrypt_failed', 'AAD binds head/room');
  }
  assert.equal(decryptEnvelope(env, bob, pinned('alice')).text, 'm0');
});

test('a forged sender: mallory, who holds the chain key, cannot write as alice', () => {
  const { out, bundle, bob } = setup();
  const bundleForMallory = makeBundle(out, 'alice', signer('alice'), [recipient('bob'), recipient('mallory')]);
  assert.equal(bundleForMallory.start, bundle.start);
  const mal = openBundle(bundleForMallory, me('mallory'), pinned('alice'));
  // Mallory builds a perfect envelope in alice's session (right key, right AAD) and signs it herself.
  const asAlice: OutboundSession = { room: mal.room, session: mal.session, chainKey: Buffer.from(mal.chainKey), next: mal.index, created: mal.created, head: mal.head };
  const forged = encryptMessage(asAlice, 'alice', signer('mallory'), body('alice says: kick bob'));
  rejects(() => decryptEnvelope(forged, bob, pinned('alice')), 'message.bad_signature');
  // Control: the same envelope with alice's own signature would have opened (so only the signature stopped it).
  assert.equal(decryptEnvelope(resignEnvelope(forged), bob, pinned('alice')).text, 'alice says: kick bob');
});

test('an envelope decrypted twice fails the second time (key deleted)', () => {
  const { out, bob } = setup();
  const env = encryptMessage(out, 'alice', signer('alice'), body('once'));
  assert.equal(decryptEnvelope(env, bob, pinned('alice')).text, 'once');
  rejects(() => decryptEnvelope(env, bob, pinned('alice')), 'message.key_used');
  // After a restart too: the stored state has no key for it.
  rejects(() => decryptEnvelope(env, deserializeInbound(JSON.parse(JSON.stringify(serializeInbound(bob)))), pinned('alice')), 'message.key_used');
});

test('an envelope from another session is refused', () => {
  const { out, bob } = setup();
  const rotated = newOutboundSession(ROOM, HEAD, NOW);
  const other = encryptMessage(rotated, 'alice', signer('alice'), body('new session'));
  rejects(() => decryptEnvelope(other, bob, pinned('alice')), 'message.wrong_session', 'alice, new session');
  // Carol's own session, in the same room.
  const carolOut = newOutboundSession(ROOM, HEAD, NOW);
  const fromCarol = encryptMessage(carolOut, 'carol', signer('carol'), body('hi'));
  rejects(() => decryptEnvelope(fromCarol, bob, pinned('alice')), 'message.wrong_session', 'carol');
  // Carol's envelope relabelled with alice's session id: sender differs.
  rejects(() => decryptEnvelope({ ...fromCarol, session: out.session }, bob, pinned('alice')), 'message.wrong_session', 'relabelled');
  // Claiming alice as sender too: then it is the signature.
  rejects(() => decryptEnvelope({ ...fromCarol, session: out.session, sender: 'alice' }, bob, pinned('alice')), 'message.bad_signature', 'as alice');
});

// ---- altered bundles -------------------------------------------------------------------------

test('a bundle re-addressed to another member does not open', () => {
  const out = newOutboundSession(ROOM, HEAD, NOW);
  const forBob = makeBundle(out, 'alice', signer('alice'), [recipient('bob')]);
  rejects(() => openBundle(forBob, me('carol'), pinned('alice')), 'session.not_for_me', 'carol not addressed');
  // The `to` field changed to carol: the signature covers it.
  const toCarol = { ...forBob, wraps: [{ to: 'carol', key: forBob.wraps[0].key }] };
  rejects(() => openBundle(toCarol, me('carol'), pinned('alice')), 'session.bad_signature', 'to changed');
  // Even validly signed, bob's wrap in carol's slot does not open for carol.
  rejects(() => openBundle(resignBundle(toCarol), me('carol'), pinned('alice')), 'session.decrypt_failed', 'to changed, re-signed');
  // The OAEP label names the recipient: bob's own key does not open his wrap addressed to another name.
  const toBob2 = resignBundle({ ...forBob, wraps: [{ to: 'bob2', key: forBob.wraps[0].key }] });
  rejects(() => openBundle(toBob2, { user: 'bob2', encryptionKey: keys.bob.enc.privateKey }, pinned('alice')), 'session.decrypt_failed', 'label binds recipient');
  // Carol with her key claiming to be bob: no.
  rejects(() => openBundle(forBob, { user: 'bob', encryptionKey: keys.carol.enc.privateKey }, pinned('alice')), 'session.decrypt_failed', 'wrong private key');
  // Mallory re-announces alice's wrap for bob as her own session: the label binds the sender.
  const asMallory = resignBundle({ ...forBob, sender: 'mallory' }, 'mallory');
  rejects(() => openBundle(asMallory, me('bob'), pinned('mallory')), 'session.decrypt_failed', 'label binds sender');
  // Control: the untouched bundle opens for bob.
  assert.equal(openBundle(forBob, me('bob'), pinned('alice')).session, out.session);
});

test('a bundle moved to another room, head, session or start is refused', () => {
  const out = newOutboundSession(ROOM, HEAD, NOW);
  const b = makeBundle(out, 'alice', signer('alice'), [recipient('bob'), recipient('carol')]);
  const moved: [string, SessionBundle][] = [
    ['room', { ...b, room: OTHER_ROOM }],
    ['head', { ...b, head: NEXT_HEAD }],
    ['head.seq', { ...b, head: { ...b.head, seq: b.head.seq + 1 } }],
    ['session', { ...b, session: toBase64Url(randomBytes(16)) }],
    ['start', { ...b, start: 0 + 7 }],
    ['created', { ...b, created: b.created + 1 }],
    ['sender', { ...b, sender: 'carol' }],
    ['wraps dropped', { ...b, wraps: [b.wraps[0]] }],
  ];
  for (const [what, bad] of moved) {
    rejects(() => openBundle(bad, me('bob'), pinned('alice')), 'session.bad_signature', what);
  }
  // Had alice signed the moved header, the wrap (whose OAEP label binds room, head, session,
  // sender and start) still would not open in the new place.
  for (const [what, bad] of moved.slice(0, 5)) {
    rejects(() => openBundle(resignBundle(bad), me('bob'), pinned('alice')), 'session.decrypt_failed', `${what}, re-signed`);
  }
  // Signed by someone other than the pinned sender.
  rejects(() => openBundle(resignBundle(b, 'mallory'), me('bob'), pinned('alice')), 'session.bad_signature', 'signed by mallory');
});

test('a signature made for one use is refused for another (labels)', () => {
  const { out, bundle, bob } = setup();
  const env = encryptMessage(out, 'alice', signer('alice'), body('labelled'));
  // A bundle signature presented as an envelope signature, and the other way round.
  rejects(() => decryptEnvelope({ ...env, sig: bundle.sig }, bob, pinned('alice')), 'message.bad_signature', 'bundle sig on envelope');
  rejects(() => openBundle({ ...bundle, sig: env.sig }, me('bob'), pinned('alice')), 'session.bad_signature', 'envelope sig on bundle');
  // The very bytes of the envelope, signed by alice for another use (a bundle, a room event):
  // refused only because of the label, as the control shows.
  const bytes = envelopeSignedBytes(env);
  for (const label of [LABELS.sessionBundle, LABELS.roomEvent, LABELS.linkHandshake]) {
    const sig = toBase64Url(signPss(signer('alice'), label, bytes));
    rejects(() => decryptEnvelope({ ...env, sig }, bob, pinned('alice')), 'message.bad_signature', label);
  }
  const control = toBase64Url(signPss(signer('alice'), LABELS.message, bytes));
  assert.equal(decryptEnvelope({ ...env, sig: control }, bob, pinned('alice')).text, 'labelled');
});

// ---- what stored state can and cannot do -----------------------------------------------------

test('forward secrecy of stored state: the saved chain key derives none of the keys already used', () => {
  const out = newOutboundSession(ROOM, HEAD, NOW);
  const ck0 = Buffer.from(out.chainKey);
  const envs = Array.from({ length: 10 }, (_, i) => encryptMessage(out, 'alice', signer('alice'), body(`secret ${i}`)));
  // The keys used: derived from the first chain key, and shown to open exactly these envelopes.
  const used: Buffer[] = [];
  const chains: Buffer[] = [];
  let ck: Buffer = ck0;
  for (const env of envs) {
    chains.push(ck);
    const mk = deriveMessageKey(ck);
    const aad = canonicalBytes({ label: LABELS.message, room: env.room, head: env.head, sender: env.sender, session: env.session, seq: env.seq });
    assert.match(aesGcmDecrypt(mk, Buffer.from(env.iv, 'base64url'), Buffer.from(env.ct, 'base64url'), aad).toString(), /secret/);
    used.push(mk);
    ck = deriveNextChainKey(ck);
  }
  const stored = serializeOutbound(out);
  assert.equal(stored.next, 10);
  const restored = deserializeOutbound(JSON.parse(JSON.stringify(stored)));
  assert.ok(restored.chainKey.equals(ck), 'the stored key is chain key 10');
  // Everything derivable from the stored key, far ahead, differs from every used key and chain key.
  let probe = restored.chainKey;
  for (let i = 0; i < 500; i++) {
    const mk = deriveMessageKey(probe);
    for (const k of [...used, ...chains]) {
      assert.ok(!mk.equals(k) && !probe.equals(k), `step ${i}`);
    }
    probe = deriveNextChainKey(probe);
  }
  // And a receiver holding only the stored state (start = 10) opens none of the ten.
  const late = openBundle(makeBundle(restored, 'alice', signer('alice'), [recipient('bob')]), me('bob'), pinned('alice'));
  for (const env of envs) rejects(() => decryptEnvelope(env, late, pinned('alice')), 'message.before_start', `seq ${env.seq}`);
});

test('a receiver that joins later (bundle with start = k) cannot decrypt seq < k', () => {
  const { out, bob } = setup();
  const k = 5;
  const early = Array.from({ length: k }, (_, i) => encryptMessage(out, 'alice', signer('alice'), body(`early ${i}`)));
  const bundle = makeBundle(out, 'alice', signer('alice'), [recipient('carol')]);
  assert.equal(bundle.start, k);
  const carol = openBundle(bundle, me('carol'), pinned('alice'));
  const later = encryptMessage(out, 'alice', signer('alice'), body('later'));
  for (const env of early) rejects(() => decryptEnvelope(env, carol, pinned('alice')), 'message.before_start', `seq ${env.seq}`);
  assert.equal(decryptEnvelope(later, carol, pinned('alice')).text, 'later');
  for (const env of early) assert.equal(decryptEnvelope(env, bob, pinned('alice')).text, `early ${env.seq}`);
  // Not just bookkeeping: carol's key treated as if it were chain key 0 opens none of the early ones.
  const cheat = deserializeInbound({ ...serializeInbound(openBundle(bundle, me('carol'), pinned('alice'))), start: 0, index: 0 });
  for (const env of early) rejects(() => decryptEnvelope(env, cheat, pinned('alice')), 'message.decrypt_failed', `cheat seq ${env.seq}`);
});

test('rotation: when the log head changes, after 100 messages, after 7 days', () => {
  const out = newOutboundSession(ROOM, HEAD, NOW);
  assert.equal(needsRotation(out, HEAD, NOW), false, 'fresh');
  assert.equal(needsRotation(out, { ...HEAD }, NOW), false, 'same head, another object');
  assert.equal(needsRotation(out, NEXT_HEAD, NOW), true, 'head moved on');
  assert.equal(needsRotation(out, { seq: HEAD.seq, hash: NEXT_HEAD.hash }, NOW), true, 'same seq, other hash (a fork)');
  assert.equal(needsRotation(out, HEAD, NOW + SESSION_MAX_AGE_MS - 1), false, 'just under 7 days');
  assert.equal(needsRotation(out, HEAD, NOW + 7 * 24 * 3600 * 1000), true, '7 days');
  for (let i = 0; i < SESSION_MAX_MESSAGES - 1; i++) encryptMessage(out, 'alice', signer('alice'), body(`n${i}`));
  assert.equal(needsRotation(out, HEAD, NOW), false, '99 sent');
  encryptMessage(out, 'alice', signer('alice'), body('the hundredth'));
  assert.equal(out.next, 100);
  assert.equal(needsRotation(out, HEAD, NOW), true, '100 sent');
  // A new session is new: another id, another key, from 0.
  const fresh = newOutboundSession(ROOM, NEXT_HEAD, NOW);
  assert.notEqual(fresh.session, out.session);
  assert.ok(!fresh.chainKey.equals(out.chainKey));
  assert.equal(fresh.next, 0);
  assert.equal(needsRotation(fresh, NEXT_HEAD, NOW), false);
});

test('one signature per bundle, whatever the number of recipients (49)', () => {
  const out = newOutboundSession(ROOM, HEAD, NOW);
  const holders = ['bob', 'carol', 'mallory'] as const;
  const recipients = Array.from({ length: 49 }, (_, i) => ({ user: `member${String(i).padStart(2, '0')}`, encryptionKey: keys[holders[i % 3]].enc.publicKey }));
  const bundle = makeBundle(out, 'alice', signer('alice'), recipients);
  const json = JSON.stringify(bundle);
  assert.equal(json.match(/"sig":/g)?.length, 1, 'exactly one sig field');
  assert.equal(bundle.wraps.length, 49);
  for (const w of bundle.wraps) assert.deepEqual(Object.keys(w).sort(), ['key', 'to']);
  assert.equal(new Set(bundle.wraps.map((w) => w.key)).size, 49, 'every wrap is its own ciphertext');
  assert.deepEqual(sessionBundleSchema.parse(JSON.parse(json)), bundle);
  // Every recipient (here, each key holder under each of its names) opens the same chain key.
  for (const [i, r] of recipients.entries()) {
    const s = openBundle(bundle, { user: r.user, encryptionKey: keys[holders[i % 3]].enc.privateKey }, pinned('alice'));
    assert.ok(s.chainKey.equals(out.chainKey), r.user);
  }
  assert.throws(() => makeBundle(out, 'alice', signer('alice'), [recipient('bob'), recipient('bob')]), TypeError);
});

test('serialize/deserialize round trips mid-chain, for sender and receiver', () => {
  const { out, bob } = setup();
  const envs = Array.from({ length: 4 }, (_, i) => encryptMessage(out, 'alice', signer('alice'), body(`before ${i}`)));
  decryptEnvelope(envs[3], bob, pinned('alice')); // bob now keeps keys 0, 1, 2
  const storedOut = JSON.parse(JSON.stringify(serializeOutbound(out)));
  const storedIn = JSON.parse(JSON.stringify(serializeInbound(bob)));
  assert.equal(storedIn.skipped.length, 3);
  const out2 = deserializeOutbound(storedOut);
  const bob2 = deserializeInbound(storedIn);
  assert.deepEqual(out2, out);
  assert.deepEqual(bob2, bob);
  assert.deepEqual(serializeInbound(bob2), storedIn, 'stable');
  // Both carry on: the restored sender continues the chain; the restored receiver opens old and new.
  const after = encryptMessage(out2, 'alice', signer('alice'), body('after'));
  assert.equal(after.seq, 4);
  assert.equal(decryptEnvelope(after, bob2, pinned('alice')).text, 'after');
  assert.equal(decryptEnvelope(envs[1], bob2, pinned('alice')).text, 'before 1');
  // The un-restored originals are independent objects, still consistent with each other.
  assert.equal(decryptEnvelope(envs[1], bob, pinned('alice')).text, 'before 1');
  // Altered or foreign state is refused, not guessed at.
  const bad: unknown[] = [
    null, {}, { ...storedOut, chainKey: 'short' }, { ...storedOut, v: 2 }, { ...storedOut, next: -1 },
    { ...storedIn, index: storedIn.start - 1 },
    { ...storedIn, skipped: [{ seq: 99, key: storedIn.skipped[0].key }] },
  ];
  assert.throws(() => deserializeOutbound(bad[0]), { code: 'request.invalid' });
  for (const o of bad.slice(1, 5)) assert.throws(() => deserializeOutbound(o), { code: 'request.invalid' }, JSON.stringify(o));
  for (const o of bad.slice(5)) assert.throws(() => deserializeInbound(o), { code: 'request.invalid' }, JSON.stringify(o));
});

test('used keys are overwritten in memory, not only dropped', () => {
  const { out, bob } = setup();
  const senderKey = out.chainKey;
  const receiverKey = bob.chainKey;
  const envs = [0, 1, 2].map((i) => encryptMessage(out, 'alice', signer('alice'), body(`z${i}`)));
  assert.ok(senderKey.equals(Buffer.alloc(32)), 'sender chain key 0 zeroed');
  decryptEnvelope(envs[2], bob, pinned('alice'));
  assert.ok(receiverKey.equals(Buffer.alloc(32)), 'receiver chain key 0 zeroed');
  const kept = bob.skipped.get(1)!;
  decryptEnvelope(envs[1], bob, pinned('alice'));
  assert.ok(kept.equals(Buffer.alloc(32)), 'skipped key zeroed after use');
  assert.equal(bob.skipped.size, 1);
});
