// Bad input on an engine's peer port (DESIGN.md "Wire: frames", "Peer links"): garbage, an
// oversized frame header, handshakes left half done, and a peer that stops reading. In each case
// the engine survives (an `error` event or nothing, never a crash), holds nothing unbounded (the
// decoder refuses a length before buffering it, a handshake has a deadline, a link that does not
// read is closed as a slow consumer), and a normal member still talks with it afterwards.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { test, type TestContext } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { randomBytes, toBase64Url, x25519Generate } from '../../protocol/crypto.ts';
import { FrameDecoder, PEER_FRAME_LIMIT, encodeFrame } from '../../protocol/frame.ts';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from '../../peer/link.ts';
import { collect, registered, waitFor, type TestEngine } from '../helpers/engines.ts';
import { savedKeys, stalledLinkTo } from '../helpers/proxy.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

const SLOW = { timeout: 120_000 };

async function pair(t: TestContext): Promise<{ alice: TestEngine; bob: TestEngine }> {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  return { alice, bob };
}

/** A direct message each way, both shown: the two engines still talk. */
async function stillTalking(alice: TestEngine, bob: TestEngine, tag: string): Promise<void> {
  const toBob = waitFor(bob, 'message', (m) => m.text === `${tag}: alice to bob`);
  await alice.sendDirect('bob', `${tag}: alice to bob`);
  await toBob;
  const toAlice = waitFor(alice, 'message', (m) => m.text === `${tag}: bob to alice`);
  await bob.sendDirect('alice', `${tag}: bob to alice`);
  await toAlice;
}

/** A raw TCP connection to the engine's peer port, destroyed in teardown. */
async function raw(t: TestContext, engine: TestEngine, localAddress?: string): Promise<{ socket: net.Socket; closed: Promise<void>; frames: unknown[] }> {
  const socket = net.connect({ host: '127.0.0.1', port: engine.peerPort, ...(localAddress ? { localAddress } : {}) });
  t.after(() => socket.destroy());
  const frames: unknown[] = [];
  const decoder = new FrameDecoder(PEER_FRAME_LIMIT);
  socket.on('data', (chunk: Buffer) => frames.push(...decoder.push(chunk)));
  socket.on('error', () => {});
  // Not once(): it would reject on the reset that a refusal may be.
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await once(socket, 'connect');
  return { socket, closed, frames };
}

function hello(from: string, to: string) {
  return { t: 'hello', v: 2, from, to, eph: toBase64Url(x25519Generate().publicKey), nonce: toBase64Url(randomBytes(32)) };
}

test('garbage on the peer port: each connection is refused with an error, the engine keeps serving', SLOW, async (t) => {
  const { alice, bob } = await pair(t);
  await stillTalking(alice, bob, 'before');
  const crashes = collect(bob, 'error');

  const cases: [what: string, bytes: Buffer, code: string, message: RegExp][] = [
    ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\nHost: bob\r\n\r\n'), 'link.protocol', /invalid frame/],
    ['a frame of invalid JSON', Buffer.concat([Buffer.from([0, 0, 0, 9]), Buffer.from('{"t":"hel')]), 'link.protocol', /invalid frame/],
    ['JSON that is no handshake', encodeFrame({ t: 'sealed', n: 0, c: 'AAAA' }), 'link.protocol', /malformed handshake|not hello/],
    ['a hello with a wrong shape', encodeFrame({ t: 'hello', v: 2, from: 'alice', to: 'bob' }), 'link.protocol', /malformed handshake/],
    ['random bytes', Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff]), randomBytes(4096)]), 'link.protocol', /invalid frame/],
  ];
  for (const [what, bytes, code, message] of cases) {
    const refused = waitFor(bob, 'error', (e) => e.code === code && /refused a peer link/.test(e.message));
    const conn = await raw(t, bob);
    conn.socket.write(bytes);
    const e = await refused;
    assert.match(e.message, message, what);
    await conn.closed; // bob hung up
  }
  assert.equal(crashes.length, cases.length, 'one error per bad connection, nothing else');
  await stillTalking(alice, bob, 'after garbage');
});

test('a frame header over 1 MiB is refused before anything is buffered', SLOW, async (t) => {
  const { alice, bob } = await pair(t);
  const refused = waitFor(bob, 'error', (e) => e.code === 'link.protocol' && /over the \d+-byte limit/.test(e.message));
  const conn = await raw(t, bob);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(PEER_FRAME_LIMIT + 1);
  conn.socket.write(header);
  conn.socket.write(randomBytes(64 * 1024));
  await refused;
  await conn.closed;
  // The same for a handshake that was under way: a valid hello, then a 4 GiB frame.
  const refusedAgain = waitFor(bob, 'error', (e) => e.code === 'link.protocol' && /over the \d+-byte limit/.test(e.message));
  const conn2 = await raw(t, bob);
  conn2.socket.write(encodeFrame(hello('alice', 'bob')));
  conn2.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  await refusedAgain;
  await conn2.closed;
  await stillTalking(alice, bob, 'after oversized headers');
});

test('handshakes left half done are cut at the deadline; meanwhile others are served', SLOW, async (t) => {
  const { alice, bob } = await pair(t);
  const timeouts = collect(bob, 'error');
  // Reported a few one by one, the rest in one summary with counts (never one event per connection).
  const summary = waitFor(bob, 'error', (e) => e.code === 'link.refused' && /more peer links/.test(e.message), 60_000);
  // Ten that said hello (as alice, whose key bob can look up) and then nothing, and ten silent ones.
  const started = Date.now();
  // From another address than the members' (127.0.0.1): a stranger sharing a member's address
  // could hold that address's whole pending allowance (LINK_LIMITS.pendingPerAddress) by design.
  const stalled = await Promise.all(Array.from({ length: 20 }, (_, i) => raw(t, bob, i < 10 ? '127.0.0.2' : '127.0.0.3')));
  for (const conn of stalled.slice(0, 10)) conn.socket.write(encodeFrame(hello('alice', 'bob')));
  // Bob answered each hello (the handshake was under way), and still serves a real member.
  await stillTalking(alice, bob, 'during stalled handshakes');
  for (const conn of stalled.slice(0, 10)) {
    if (!conn.frames.length) await once(conn.socket, 'data');
    assert.equal((conn.frames[0] as { t: string }).t, 'hello_reply');
  }

  await Promise.all(stalled.map((c) => c.closed));
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= DEFAULT_HANDSHAKE_TIMEOUT_MS - 500, `cut after the ${DEFAULT_HANDSHAKE_TIMEOUT_MS} ms deadline, not before (${elapsed} ms)`);
  for (const conn of stalled) {
    assert.deepEqual(conn.frames.at(-1), { t: 'refused', code: 'link.timeout', message: `no complete handshake within ${DEFAULT_HANDSHAKE_TIMEOUT_MS} ms` });
  }
  const one = timeouts.filter((e) => e.code === 'link.timeout').length;
  const rest = Number(/(\d+) link\.timeout/.exec((await summary).message)?.[1] ?? 0);
  assert.ok(one >= 1 && one < 20, `${one} reported one by one`);
  assert.equal(one + rest, 20);
  await stillTalking(alice, bob, 'after the deadline');
});

test('a peer that stops reading is dropped as a slow consumer; the engine goes on with the others', SLOW, async (t) => {
  const { alice, bob } = await pair(t);
  await stillTalking(alice, bob, 'before');
  const keys = { alice: savedKeys(alice, 'alice'), bob: savedKeys(bob, 'bob') };
  const errors = collect(bob, 'error');

  // A link that says it is alice's device (her own keys: the two ends dialled each other at once,
  // say) and then reads nothing. It is bob's newest link to that device, so his messages to alice
  // go there first. The burst is far
  // more than bob's queue (8 MiB) and the kernel's socket buffers hold; it is paced by one turn of
  // the event loop per message, so that alice's engine (in this same process) reads her link.
  const stalled = await stalledLinkTo(t, bob, keys.alice, keys.bob, alice.data.deviceId());
  const BURST = 300;
  const big = 'x'.repeat(60_000);
  const shownToAlice = collect(alice, 'message');
  const aliceErrors = collect(alice, 'error');
  for (let i = 0; i < BURST; i++) {
    await bob.sendDirect('alice', `${i} ${big}`);
    await nextTurn();
  }
  const marker = waitFor(alice, 'message', (m) => m.text === 'marker after the burst', 30_000).catch((err: Error) => err);
  await bob.sendDirect('alice', 'marker after the burst');
  // Bob's sends to one user run as a chain of promise jobs over open links: one turn of the event
  // loop later every one of them has been written, or refused because the link was dropped.
  await nextTurn();

  // Only now does the stalled peer read: it gets what the kernel held, then the link is gone.
  const link = stalled.open();
  let got = 0;
  link.on('message', (m) => {
    if (m.t === 'envelope') got += 1;
  });
  const [reason] = (await once(link, 'close')) as [Error | undefined];
  assert.ok(got < BURST / 2, `bob did not buffer the burst for a peer that stopped reading (it got ${got} of ${BURST})`);
  assert.ok(reason, 'the link was cut, not ended cleanly');
  assert.deepEqual(errors, [], "a slow consumer is no error of bob's");

  // Alice, on the link that still reads, was shown the marker and everything after the drop.
  const m = await marker;
  const burstShown = shownToAlice.filter((x) => x.text.endsWith(big)).length;
  assert.ok(!(m instanceof Error), `the marker after the burst reached alice (${(m as Error).message})`);
  assert.ok(burstShown > 0, 'the burst went on to alice once the stalled link was dropped');
  assert.deepEqual(aliceErrors.slice(0, 1), [], `alice could not read ${aliceErrors.length} of bob's messages (she was shown ${burstShown} of the burst)`);
  await stillTalking(alice, bob, 'after the slow consumer');
});

test('a link that dies after carrying a session key: the member still reads the later messages of that session', SLOW, async (t) => {
  const { alice, bob } = await pair(t);
  // Alice's engine dials bob: bob has a link to her, and no direct session yet.
  const hello = waitFor(bob, 'message', (m) => m.text === 'hello bob');
  await alice.sendDirect('bob', 'hello bob');
  await hello;
  const keys = { alice: savedKeys(alice, 'alice'), bob: savedKeys(bob, 'bob') };

  // A second link as alice's device (the two ends dialled each other at once, say) becomes bob's
  // newest link to that device, and carries his new session's key and first message.
  const second = await stalledLinkTo(t, bob, keys.alice, keys.bob, alice.data.deviceId());
  const link = second.open();
  const carried: string[] = [];
  const firstEnvelope = new Promise<void>((resolve) => link.on('message', (m) => {
    carried.push(m.t);
    if (m.t === 'envelope') resolve();
  }));
  await bob.sendDirect('alice', 'one');
  await firstEnvelope;
  assert.deepEqual(carried.filter((k) => k !== 'heads' && k !== 'summary' && k !== 'caught_up'), ['session', 'envelope']);
  // Then it breaks: a frame bob cannot authenticate, and he closes that link.
  const closed = once(link, 'close');
  second.socket.write(encodeFrame({ t: 'sealed', n: 1000, c: 'AAAA' }));
  await closed;

  // Bob's next message in the same session goes over the link alice's engine opened.
  const aliceErrors = collect(alice, 'error');
  const outcome = Promise.race([
    waitFor(alice, 'message', (m) => m.text === 'two').then((m) => `shown: ${m.text}`),
    waitFor(alice, 'error').then((e) => `error: ${e.code} ${e.message}`),
  ]);
  await bob.sendDirect('alice', 'two');
  assert.equal(await outcome, 'shown: two');
  assert.deepEqual(aliceErrors, []);
});
