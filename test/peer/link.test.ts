// Peer links over real TCP on 127.0.0.1 (DESIGN.md "Peer links"): the SIGMA handshake both ways,
// refusals with the right code on the side that checks, a sniffing and tampering proxy in the
// middle, bad bytes to a server that keeps serving, and a peer that stops reading.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { test, type TestContext } from 'node:test';
import type { KeyObject } from 'node:crypto';
import { generateRsaKeyPair, randomBytes, toBase64Url, x25519Generate } from '../../protocol/crypto.ts';
import { FrameDecoder, PEER_FRAME_LIMIT, encodeFrame } from '../../protocol/frame.ts';
import { dmRoom, type PeerMessage } from '../../protocol/peer.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { sealPayload } from '../../peer/link-handshake.ts';
import {
  LinkServer, MAX_MESSAGE_BYTES, PeerLink, connectLink, kLinkKeys,
  type LinkIdentity, type LinkOptions, type PinnedKeyLookup,
} from '../../peer/link.ts';

const [alice, bob, mallory] = await Promise.all([generateRsaKeyPair(), generateRsaKeyPair(), generateRsaKeyPair()]);
const ALICE: LinkIdentity = { user: 'alice', signingKey: alice.privateKey };
const BOB: LinkIdentity = { user: 'bob', signingKey: bob.privateKey };
const TEST_TIMEOUT = { timeout: 30_000 };
const ROOM = dmRoom('alice', 'bob');

function pins(table: Record<string, KeyObject>): PinnedKeyLookup {
  return async (user) => table[user];
}
const alicePins = pins({ bob: bob.publicKey });
const bobPins = pins({ alice: alice.publicKey });

async function listen(t: TestContext, me: LinkIdentity, pinnedKey: PinnedKeyLookup, opts: LinkOptions = {}): Promise<LinkServer> {
  const server = await LinkServer.listen({ host: '127.0.0.1', port: 0, me, pinnedKey, ...opts });
  t.after(() => server.close());
  return server;
}

/** Connects and also returns the server's end of the same link. */
async function link(
  t: TestContext, server: LinkServer, port: number, me: LinkIdentity, remoteUser: string, pinnedKey: PinnedKeyLookup, opts: LinkOptions = {},
): Promise<[PeerLink, PeerLink]> {
  const inbound = once(server, 'link') as Promise<[PeerLink]>;
  const out = await connectLink({ host: '127.0.0.1', port, me, remoteUser, pinnedKey, ...opts });
  t.after(() => out.close());
  const [back] = await inbound;
  t.after(() => back.close());
  return [out, back];
}

async function expectLinkError(promise: Promise<unknown>, code: string): Promise<ProtocolError> {
  const err = await promise.then(
    (v) => assert.fail(`expected ${code}, but it resolved with ${String(v)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ProtocolError, `expected a ProtocolError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  return err;
}

function collect(l: PeerLink, n: number): Promise<PeerMessage[]> {
  return new Promise((resolve, reject) => {
    const got: PeerMessage[] = [];
    const done = () => { l.off('message', onMessage); l.off('close', onClose); };
    const onMessage = (m: PeerMessage) => { got.push(m); if (got.length === n) { done(); resolve(got); } };
    const onClose = (r?: Error) => { done(); reject(new Error(`link closed after ${got.length}/${n} messages: ${r?.message}`)); };
    l.on('message', onMessage);
    l.on('close', onClose);
  });
}

const closeReason = (l: PeerLink): Promise<Error | undefined> =>
  l.closed ? Promise.reject(new Error('already closed')) : (once(l, 'close') as Promise<[Error | undefined]>).then(([r]) => r);

const ping: PeerMessage = { t: 'ping' };
const req = (from: number): PeerMessage => ({ t: 'log_request', room: ROOM, from });

/** A `heads` message whose JSON is as long as it can be without going over `bytes`. */
function headsOf(bytes: number): PeerMessage {
  const heads: { room: string; head: { seq: number; hash: string } }[] = [];
  let size = JSON.stringify({ t: 'heads', heads }).length;
  for (;;) {
    const entry = { room: toBase64Url(randomBytes(32)), head: { seq: heads.length, hash: toBase64Url(randomBytes(32)) } };
    const more = JSON.stringify(entry).length + (heads.length ? 1 : 0);
    if (size + more > bytes) break;
    size += more;
    heads.push(entry);
  }
  assert.equal(JSON.stringify({ t: 'heads', heads }).length, size);
  return { t: 'heads', heads };
}

/** Every frame in a recorded byte stream. */
function framesOf(bytes: Buffer): Record<string, unknown>[] {
  return new FrameDecoder(PEER_FRAME_LIMIT).push(bytes) as Record<string, unknown>[];
}

type Dir = 'i2r' | 'r2i';
/** A TCP proxy that records every byte and may rewrite whole frames on their way. */
async function proxy(t: TestContext, targetPort: number, rewrite?: (dir: Dir, frame: Buffer, index: number) => Buffer[]) {
  const recorded: Record<Dir, Buffer[]> = { i2r: [], r2i: [] };
  const upstreams: net.Socket[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((down) => {
    const up = net.connect(targetPort, '127.0.0.1');
    upstreams.push(up);
    for (const s of [down, up]) { sockets.add(s); s.on('error', () => {}); }
    const pipe = (from: net.Socket, to: net.Socket, dir: Dir) => {
      let buf = Buffer.alloc(0);
      let index = 0;
      from.on('data', (chunk: Buffer) => {
        recorded[dir].push(chunk);
        buf = Buffer.concat([buf, chunk]);
        while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
          const frame = buf.subarray(0, 4 + buf.readUInt32BE(0));
          buf = buf.subarray(frame.length);
          for (const out of rewrite ? rewrite(dir, frame, index) : [frame]) to.write(out);
          index += 1;
        }
      });
      from.on('end', () => to.end());
      from.on('close', (hadError) => { if (hadError) to.destroy(); });
    };
    pipe(down, up, 'i2r');
    pipe(up, down, 'r2i');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => { for (const s of sockets) s.destroy(); server.close(); });
  return {
    port: (server.address() as net.AddressInfo).port,
    recorded: () => ({ i2r: Buffer.concat(recorded.i2r), r2i: Buffer.concat(recorded.r2i) }),
    /** The peer behind the proxy stops reading what the server sends. */
    stopReadingFromServer: () => { for (const up of upstreams) up.pause(); },
  };
}

/** A raw TCP client to the server: write bytes, read frames. */
async function raw(t: TestContext, port: number) {
  const socket = net.connect(port, '127.0.0.1');
  t.after(() => socket.destroy());
  socket.on('error', () => {});
  const frames: unknown[] = [];
  const decoder = new FrameDecoder(PEER_FRAME_LIMIT);
  socket.on('data', (c: Buffer) => { try { frames.push(...decoder.push(c)); } catch { /* not ours to judge */ } });
  await once(socket, 'connect');
  return { socket, frames, closed: once(socket, 'close') };
}

const hello = (from: string, to: string) =>
  ({ t: 'hello', v: 2, from, to, eph: toBase64Url(x25519Generate().publicKey), nonce: toBase64Url(randomBytes(32)) });

type Refused = { address: string; code: string; message: string };
const nextRefused = (server: LinkServer) => (once(server, 'refused') as Promise<[Refused]>).then(([r]) => r);

/** The server still completes a normal handshake and carries a message. */
async function stillServes(t: TestContext, server: LinkServer): Promise<void> {
  const [a, b] = await link(t, server, server.port, ALICE, 'bob', alicePins);
  const got = collect(b, 1);
  a.send(req(7));
  assert.deepEqual(await got, [req(7)]);
}

// ---- handshake and messages ------------------------------------------------------------------

test('links open both ways and carry 100 messages each way in order, and the largest message', TEST_TIMEOUT, async (t) => {
  const bobServer = await listen(t, BOB, bobPins);
  const aliceServer = await listen(t, ALICE, alicePins);

  const [a, b] = await link(t, bobServer, bobServer.port, ALICE, 'bob', alicePins);
  assert.equal(a.remoteUser, 'bob');
  assert.equal(a.initiator, true);
  assert.equal(b.remoteUser, 'alice');
  assert.equal(b.initiator, false);
  assert.equal(a.remoteAddress, '127.0.0.1');
  assert.equal(b.remoteAddress, '127.0.0.1');

  const [b2, a2] = await link(t, aliceServer, aliceServer.port, BOB, 'alice', bobPins);
  assert.equal(b2.remoteUser, 'alice');
  assert.equal(a2.remoteUser, 'bob');
  assert.equal(b2.initiator, true);

  for (const [x, y] of [[a, b], [b, a], [b2, a2], [a2, b2]]) {
    const got = collect(y, 100);
    for (let i = 0; i < 100; i++) assert.equal(x.send(req(i)), true);
    assert.deepEqual((await got).map((m) => (m.t === 'log_request' ? m.from : -1)), [...Array(100).keys()]);
  }

  // The largest message a sealed frame can hold (PEER_FRAME_LIMIT of base64url ciphertext)…
  const big = headsOf(MAX_MESSAGE_BYTES);
  assert.ok(JSON.stringify(big).length > 760 * 1024 && JSON.stringify(big).length <= MAX_MESSAGE_BYTES);
  for (const [x, y] of [[a, b], [b, a]]) {
    const got = collect(y, 2);
    assert.equal(x.send(big), true);
    assert.equal(x.send(ping), true);
    assert.deepEqual(await got, [big, ping]);
  }
  // …while a ~900 KiB one is refused at send(), not silently cut, and the link goes on.
  assert.throws(() => a.send(headsOf(900 * 1024)), (e: unknown) => e instanceof ProtocolError && e.code === 'link.too_large');
  assert.throws(() => a.send({ t: 'typing', room: 'nope', active: true }), (e: unknown) => e instanceof ProtocolError && e.code === 'link.invalid_message');
  const got = collect(b, 1);
  a.send(req(1));
  assert.deepEqual(await got, [req(1)]);
});

// ---- refusals --------------------------------------------------------------------------------

test('mallory answering as bob fails the initiator with link.bad_signature', TEST_TIMEOUT, async (t) => {
  const fake = await listen(t, { user: 'bob', signingKey: mallory.privateKey }, pins({ alice: alice.publicKey }));
  // The responder signs last (SIGMA-R): mallory's side is up when alice checks its proof and refuses.
  const fakeLink = (once(fake, 'link') as Promise<[PeerLink]>).then(([l]) => closeReason(l));
  const err = await expectLinkError(connectLink({ host: '127.0.0.1', port: fake.port, me: ALICE, remoteUser: 'bob', pinnedKey: alicePins }), 'link.bad_signature');
  assert.match(err.message, /bob/);
  assert.match(err.message, /fingerprint/);
  const reason = await fakeLink; // alice told mallory why
  assert.ok(reason instanceof ProtocolError && reason.code === 'link.bad_signature', String(reason));
});

test('an initiator whose signature does not match the pinned key is refused by the server, which keeps accepting', TEST_TIMEOUT, async (t) => {
  const server = await listen(t, BOB, bobPins);

  // mallory claims to be alice
  let refused = nextRefused(server);
  await expectLinkError(
    connectLink({ host: '127.0.0.1', port: server.port, me: { user: 'alice', signingKey: mallory.privateKey }, remoteUser: 'bob', pinnedKey: alicePins }),
    'link.bad_signature');
  let r = await refused;
  assert.equal(r.code, 'link.bad_signature');
  assert.equal(r.address, '127.0.0.1');
  assert.match(r.message, /alice/);

  // bob pinned a different key for alice than the one she signs with
  const stale = await listen(t, BOB, pins({ alice: mallory.publicKey }));
  refused = nextRefused(stale);
  await expectLinkError(connectLink({ host: '127.0.0.1', port: stale.port, me: ALICE, remoteUser: 'bob', pinnedKey: alicePins }), 'link.bad_signature');
  r = await refused;
  assert.equal(r.code, 'link.bad_signature');

  await stillServes(t, server);
});

test('an unknown user is refused with link.unknown_user, on either side', TEST_TIMEOUT, async (t) => {
  const server = await listen(t, BOB, bobPins);
  const refused = nextRefused(server);
  const carol: LinkIdentity = { user: 'carol', signingKey: mallory.privateKey };
  const err = await expectLinkError(connectLink({ host: '127.0.0.1', port: server.port, me: carol, remoteUser: 'bob', pinnedKey: alicePins }), 'link.unknown_user');
  assert.match(err.message, /bob does not know carol/);
  assert.equal((await refused).code, 'link.unknown_user');

  // No pinned key for the user we would call: nothing is sent at all.
  await expectLinkError(connectLink({ host: '127.0.0.1', port: server.port, me: ALICE, remoteUser: 'dave', pinnedKey: alicePins }), 'link.unknown_user');
  await stillServes(t, server);
});

test('a hello meant for someone else is refused with link.wrong_user', TEST_TIMEOUT, async (t) => {
  const server = await listen(t, BOB, bobPins);
  const refused = nextRefused(server);
  await expectLinkError(
    connectLink({ host: '127.0.0.1', port: server.port, me: ALICE, remoteUser: 'carol', pinnedKey: pins({ carol: mallory.publicKey }) }),
    'link.wrong_user');
  const r = await refused;
  assert.equal(r.code, 'link.wrong_user');
  assert.match(r.message, /wanted carol/);
});

test('connecting to nobody, or to a peer that never answers, fails with a code', TEST_TIMEOUT, async (t) => {
  const free = net.createServer().listen(0, '127.0.0.1');
  await once(free, 'listening');
  const freePort = (free.address() as net.AddressInfo).port;
  free.close();
  await once(free, 'close');
  await expectLinkError(connectLink({ host: '127.0.0.1', port: freePort, me: ALICE, remoteUser: 'bob', pinnedKey: alicePins }), 'link.refused');

  const silent = net.createServer((s) => s.on('error', () => {}));
  const accepted: net.Socket[] = [];
  silent.on('connection', (s) => accepted.push(s));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  t.after(() => { for (const s of accepted) s.destroy(); silent.close(); });
  const err = await expectLinkError(
    connectLink({ host: '127.0.0.1', port: (silent.address() as net.AddressInfo).port, me: ALICE, remoteUser: 'bob', pinnedKey: alicePins, handshakeTimeoutMs: 150 }),
    'link.timeout');
  assert.match(err.message, /150 ms/);
});

// ---- what a sniffer and a tamperer on the LAN get --------------------------------------------

const MARKER = 'zq-sniff-marker-7731';

test('a passive sniffer sees no message text and no link key', TEST_TIMEOUT, async (t) => {
  const server = await listen(t, BOB, bobPins);
  const mitm = await proxy(t, server.port);
  const [a, b] = await link(t, server, mitm.port, ALICE, 'bob', alicePins);

  const secret: PeerMessage = { t: 'ack', room: ROOM, sender: MARKER, session: toBase64Url(randomBytes(16)), seqs: [1, 2, 3] };
  const typing: PeerMessage = { t: 'typing', room: `dm:alice:${MARKER}`, active: true };
  const atBob = collect(b, 2);
  const atAlice = collect(a, 2);
  a.send(secret); a.send(typing);
  b.send(typing); b.send(secret);
  assert.deepEqual(await atBob, [secret, typing]);
  assert.deepEqual(await atAlice, [typing, secret]);

  const { i2r, r2i } = mitm.recorded();
  const keys = [a[kLinkKeys].send, a[kLinkKeys].recv, b[kLinkKeys].send, b[kLinkKeys].recv];
  assert.ok(keys[0].equals(keys[3]) && keys[1].equals(keys[2]), 'both ends derived the same keys');
  const frames = [...framesOf(i2r), ...framesOf(r2i)];
  assert.deepEqual(framesOf(i2r).map((f) => f.t), ['hello', 'hello_finish', 'sealed', 'sealed']);
  assert.deepEqual(framesOf(r2i).map((f) => f.t), ['hello_reply', 'sealed', 'sealed', 'sealed']);
  // Every byte on the wire, and every base64url field decoded, is free of the text and the keys.
  const decodedFields = frames.flatMap((f) => Object.values(f).filter((v): v is string => typeof v === 'string').map((v) => Buffer.from(v, 'base64url')));
  for (const haystack of [i2r, r2i, ...decodedFields]) {
    assert.equal(haystack.includes(MARKER), false);
    for (const key of keys) {
      assert.equal(haystack.includes(key), false);
      assert.equal(haystack.includes(key.toString('base64url')), false);
      assert.equal(haystack.includes(key.toString('hex')), false);
    }
  }
});

/** Rewrites the first sealed frame from the initiator. */
function onFirstSealed(change: (frame: Buffer) => Buffer[]) {
  return (dir: Dir, frame: Buffer, index: number) => (dir === 'i2r' && index === 2 ? change(frame) : [frame]);
}

test('a flipped bit in a sealed frame closes the link on the receiver', TEST_TIMEOUT, async (t) => {
  const server = await listen(t, BOB, bobPins);
  const mitm = await proxy(t, server.port, onFirstSealed((frame) => {
    const f = JSON.parse(frame.subarray(4).toString('utf8'));
    const mid = f.c.length >> 1;
    f.c = f.c.slice(0, mid) + (f.c[mid] === 'A' ? 'B' : 'A') + f.c.slice(mid + 1);
    return [encodeFrame(f)];
  }));
  const [a, b] = await link(t, server, mitm.port, ALICE, 'bob', alicePins);
  const bobClosed = closeReason(b);
  const aliceClosed = closeReason(a);
  b.on('message', (m) => assert.fail(`a tampered message was delivered: ${JSON.stringify(m)}`));
  a.send(req(1));
  const reason = await bobClosed;
  assert.ok(reason instanceof ProtocolError);
  assert.equal(reason.code, 'link.protocol');
  assert.match(reason.message, /authentication/);
  await aliceClosed; // and alice learns the link is gone
  assert.equal(a.send(ping), false);
});

test('a replayed sealed frame closes the link after the original was delivered once', TEST_TIMEOUT, async (t) => {
  const server = await listen(t, BOB, bobPins);
  const mitm = await proxy(t, server.port, onFirstSealed((frame) => [frame, frame]));
  const [a, b] = await link(t, server, mitm.port, ALICE, 'bob', alicePins);
  const got: PeerMessage[] = [];
  b.on('message', (m) => got.push(m));
  const bobClosed = closeReason(b);
  a.send(req(1));
  const reason = await bobClosed;
  assert.ok(reason instanceof ProtocolError);
  assert.equal(reason.code, 'link.protocol');
  assert.match(reason.message, /replayed/);
  assert.deepEqual(got, [req(1)]);
});

test('an authentic message that fails the schema is dropped with a warning and the link goes on', TEST_TIMEOUT, async (t) => {
  const server = await listen(t, BOB, bobPins);
  let keyOfAlice: Buffer | undefined;
  const mitm = await proxy(t, server.port, onFirstSealed(() =>
    [encodeFrame(sealPayload(keyOfAlice!, 'i2r', 0, Buffer.from('{"t":"bogus"}')))]));
  const [a, b] = await link(t, server, mitm.port, ALICE, 'bob', alicePins);
  keyOfAlice = a[kLinkKeys].send; // stands in for a buggy or newer peer that holds the key
  const warned = once(b, 'warning') as Promise<[ProtocolError]>;
  const got = collect(b, 1);
  a.send(ping);
  a.send(req(2));
  const [warning] = await warned;
  assert.equal(warning.code, 'link.invalid_message');
  assert.deepEqual(await got, [req(2)]);
  assert.equal(b.closed, false);
});

// ---- bad bytes to a server -------------------------------------------------------------------

test('garbage, an oversized header, a non-handshake frame and a stalled handshake are refused; the server keeps serving', TEST_TIMEOUT, async (t) => {
  const server = await listen(t, BOB, bobPins, { handshakeTimeoutMs: 200 });
  const cases: [string, Buffer, string][] = [
    ['http', Buffer.from('GET / HTTP/1.1\r\nHost: bob\r\n\r\n'), 'link.protocol'],
    ['over 1 MiB', Buffer.from([0x00, 0x10, 0x00, 0x01]), 'link.protocol'],
    ['not json', Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('hello')]), 'link.protocol'],
    ['sealed first', encodeFrame({ t: 'sealed', n: 0, c: 'AAAA' }), 'link.protocol'],
    ['all-zero ephemeral key', encodeFrame({ ...hello('alice', 'bob'), eph: toBase64Url(Buffer.alloc(32)) }), 'link.protocol'],
    ['hello version 1', encodeFrame({ ...hello('alice', 'bob'), v: 1 }), 'link.protocol'],
  ];
  for (const [what, bytes, code] of cases) {
    const refused = nextRefused(server);
    const c = await raw(t, server.port);
    c.socket.write(bytes);
    const r = await refused;
    assert.equal(r.code, code, `${what}: ${r.message}`);
    await c.closed;
    await stillServes(t, server);
  }

  // hello, then silence: the server answers, waits handshakeTimeoutMs, refuses and hangs up.
  const refused = nextRefused(server);
  const c = await raw(t, server.port);
  c.socket.write(encodeFrame(hello('alice', 'bob')));
  const r = await refused;
  assert.equal(r.code, 'link.timeout');
  await c.closed;
  assert.deepEqual(c.frames.map((f) => (f as { t: string }).t), ['hello_reply', 'refused']);
  assert.equal((c.frames[1] as { code: string }).code, 'link.timeout');
  await stillServes(t, server);
});

// ---- a peer that stops reading ---------------------------------------------------------------

test('a peer that stops reading is dropped with link.slow_consumer; memory stays bounded; other links go on', TEST_TIMEOUT, async (t) => {
  const maxQueueBytes = 2 * 1024 * 1024;
  const carol = await generateRsaKeyPair();
  const server = await listen(t, BOB, pins({ alice: alice.publicKey, carol: carol.publicKey }), { maxQueueBytes });
  const mitm = await proxy(t, server.port);
  const [aliceSide, toAlice] = await link(t, server, mitm.port, ALICE, 'bob', alicePins);
  const [carolSide, toCarol] = await link(t, server, server.port, { user: 'carol', signingKey: carol.privateKey }, 'bob', alicePins);
  const big = headsOf(MAX_MESSAGE_BYTES);

  // While alice reads, the same pace of big messages (10 MiB, 5 × maxQueueBytes) goes through.
  const aliceGot = collect(aliceSide, 10);
  for (let i = 0; i < 10; i++) {
    assert.equal(toAlice.send(big), true);
    await nextTurn();
  }
  assert.equal((await aliceGot).length, 10);

  mitm.stopReadingFromServer();
  const closed = closeReason(toAlice);
  const frameBytes = 4 + PEER_FRAME_LIMIT; // one sealed frame at most
  let maxQueued = 0;
  let sent = 0;
  const carolGot = collect(carolSide, 20);
  for (; sent < 1000 && toAlice.send(big); sent++) {
    maxQueued = Math.max(maxQueued, toAlice.queuedBytes);
    if (sent < 20) toCarol.send(req(sent)); // the healthy link keeps working meanwhile
    await nextTurn();
  }
  const reason = await closed;
  assert.ok(reason instanceof ProtocolError);
  assert.equal(reason.code, 'link.slow_consumer');
  assert.match(reason.message, /alice is not reading/);
  assert.ok(sent > 0 && sent < 1000, `sent ${sent} big messages before the drop`);
  assert.ok(maxQueued <= maxQueueBytes + frameBytes, `queued ${maxQueued} bytes`);
  assert.equal(toAlice.send(ping), false);

  for (let i = sent; i < 20; i++) toCarol.send(req(i));
  assert.deepEqual((await carolGot).map((m) => (m.t === 'log_request' ? m.from : -1)), [...Array(20).keys()]);
  const back = collect(toCarol, 1);
  carolSide.send(ping);
  assert.deepEqual(await back, [ping]);
});

// ---- closing ---------------------------------------------------------------------------------

test('close() from either side emits close on both; a closed server closes its links', TEST_TIMEOUT, async (t) => {
  const server = await listen(t, BOB, bobPins);

  let [a, b] = await link(t, server, server.port, ALICE, 'bob', alicePins);
  let closes = Promise.all([closeReason(a), closeReason(b)]);
  a.close();
  assert.equal(a.closed, true);
  assert.equal(a.send(ping), false);
  assert.deepEqual(await closes, [undefined, undefined]);

  [a, b] = await link(t, server, server.port, ALICE, 'bob', alicePins);
  closes = Promise.all([closeReason(a), closeReason(b)]);
  b.close();
  assert.deepEqual(await closes, [undefined, undefined]);

  // A reason stays on the side that gave it; the other side sees the connection drop.
  [a, b] = await link(t, server, server.port, ALICE, 'bob', alicePins);
  const reasons = Promise.all([closeReason(a), closeReason(b)]);
  const why = new ProtocolError('link.protocol', 'test');
  b.close(why);
  const [atA, atB] = await reasons;
  assert.equal(atB, why);
  assert.ok(atA === undefined || (atA instanceof ProtocolError && atA.code === 'link.closed'), String(atA));

  [a] = await link(t, server, server.port, ALICE, 'bob', alicePins);
  const aClosed = closeReason(a);
  await server.close();
  assert.equal(await aClosed, undefined);
});

test('an idle link closes with link.timeout when idleTimeoutMs is set', TEST_TIMEOUT, async (t) => {
  const server = await listen(t, BOB, bobPins);
  const [a] = await link(t, server, server.port, ALICE, 'bob', alicePins, { idleTimeoutMs: 100 });
  const reason = await closeReason(a);
  assert.ok(reason instanceof ProtocolError);
  assert.equal(reason.code, 'link.timeout');
});

// ---- devices (issue 10): one user, several data folders -----------------------------------------

const DEVICE = { laptop: 'TEFQVE9QLURFVklDRS0wMQ', desktop: 'REVTS1RPUC1ERVZJQ0UtMQ', phone: 'UEhPTkUtREVWSUNFLTAwMQ' };

test('devices: each side of a link learns the other\'s device; a link dialled to one device of a user and answered by another is refused', TEST_TIMEOUT, async (t) => {
  const bobDesktop: LinkIdentity = { ...BOB, device: DEVICE.desktop };
  const server = await listen(t, bobDesktop, bobPins);
  const aliceLaptop: LinkIdentity = { ...ALICE, device: DEVICE.laptop };
  const [out, back] = await link(t, server, server.port, aliceLaptop, 'bob', alicePins, { remoteDevice: DEVICE.desktop } as LinkOptions);
  assert.equal(out.remoteDevice, DEVICE.desktop);
  assert.equal(back.remoteDevice, DEVICE.laptop);
  // The port now belongs to bob's desktop; a dial meant for his phone is refused, on both sides.
  const refused = once(server, 'refused');
  await expectLinkError(connectLink({ host: '127.0.0.1', port: server.port, me: aliceLaptop, remoteUser: 'bob', remoteDevice: DEVICE.phone, pinnedKey: alicePins }), 'link.wrong_user');
  assert.equal(((await refused)[0] as { code: string }).code, 'link.wrong_user');
});

test('devices: a link from this very device (its own id in the hello) is refused; another device of the same user is linked', TEST_TIMEOUT, async (t) => {
  const aliceDesktop: LinkIdentity = { ...ALICE, device: DEVICE.desktop };
  const ownPins = pins({ alice: alice.publicKey });
  const server = await listen(t, aliceDesktop, ownPins);
  await expectLinkError(connectLink({ host: '127.0.0.1', port: server.port, me: aliceDesktop, remoteUser: 'alice', pinnedKey: ownPins }), 'link.wrong_user');
  const [out, back] = await link(t, server, server.port, { ...ALICE, device: DEVICE.laptop }, 'alice', ownPins);
  assert.equal(out.remoteDevice, DEVICE.desktop);
  assert.equal(back.remoteDevice, DEVICE.laptop);
});

test('devices: a device id changed on the way is caught by the signatures (it is in the transcript)', TEST_TIMEOUT, async (t) => {
  const server = await listen(t, { ...BOB, device: DEVICE.desktop }, bobPins);
  // A forwarder that rewrites the device named in alice's hello.
  const relay = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: server.port });
    const decoder = new FrameDecoder(PEER_FRAME_LIMIT);
    let first = true;
    client.on('data', (chunk: Buffer) => {
      if (!first) return void upstream.write(chunk);
      for (const frame of decoder.push(chunk)) {
        const f = frame as Record<string, unknown>;
        if (first && f.t === 'hello') {
          first = false;
          upstream.write(encodeFrame({ ...f, device: DEVICE.phone }));
        } else upstream.write(encodeFrame(frame));
      }
    });
    upstream.on('data', (chunk) => client.write(chunk));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  t.after(() => relay.close());
  const port = (relay.address() as net.AddressInfo).port;
  await expectLinkError(connectLink({ host: '127.0.0.1', port, me: { ...ALICE, device: DEVICE.laptop }, remoteUser: 'bob', pinnedKey: alicePins }), 'link.bad_signature');
});
