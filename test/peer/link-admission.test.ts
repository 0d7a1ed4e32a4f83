// Admission of peer links before authentication (issue 7 item 8), over real TCP on loopback:
// strangers holding idle connections to a peer's port are capped per address and in total and
// cut at the handshake deadline; hellos with unknown names cost at most the lookup budget; the
// responder signs nothing for a stranger; refusals are reported a few at a time plus a summary;
// and real members keep linking and delivering during a flood. Strangers connect from
// 127.0.0.2 and up (all of 127/8 is loopback on Linux), members from 127.0.0.1.

import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { test, type TestContext } from 'node:test';
import type { KeyObject } from 'node:crypto';
import { generateRsaKeyPair, randomBytes, toBase64Url, x25519Generate } from '../../protocol/crypto.ts';
import { FrameDecoder, PEER_FRAME_LIMIT, encodeFrame } from '../../protocol/frame.ts';
import type { LinkLimits } from '../../protocol/peer.ts';
import type { ChatEngine } from '../../peer/engine.ts';
import { LinkPool } from '../../peer/link-pool.ts';
import { isEviction, type RefusalDetail, type RefusalSummary } from '../../peer/link-refusals.ts';
import { LinkServer, connectLink, type LinkIdentity, type PeerLink, type PinnedKeyLookup } from '../../peer/link.ts';
import { collect, deliveredDirect, registered, waitFor } from '../helpers/engines.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

const TIMEOUT = { timeout: 120_000 };
const [alice, bob, carol] = await Promise.all([generateRsaKeyPair(), generateRsaKeyPair(), generateRsaKeyPair()]);
const ALICE: LinkIdentity = { user: 'alice', signingKey: alice.privateKey };
const BOB: LinkIdentity = { user: 'bob', signingKey: bob.privateKey };
const CAROL: LinkIdentity = { user: 'carol', signingKey: carol.privateKey };

function pins(table: Record<string, KeyObject>): PinnedKeyLookup {
  return async (user) => (Object.hasOwn(table, user) ? table[user] : undefined);
}
const alicePins = pins({ bob: bob.publicKey });

/** Resolves when `check()` holds; polled on a short timer, rejects after `ms`. */
async function until(what: string, check: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Frames a raw client received, and when the peer closed it. */
interface RawConn {
  socket: net.Socket;
  frames: unknown[];
  closed: Promise<void>;
  isClosed: boolean;
}

function rawConnect(t: TestContext, port: number, from: string): RawConn {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress: from });
  t.after(() => socket.destroy());
  socket.on('error', () => {});
  const frames: unknown[] = [];
  const decoder = new FrameDecoder(PEER_FRAME_LIMIT);
  socket.on('data', (c: Buffer) => { try { frames.push(...decoder.push(c)); } catch { /* not ours to judge */ } });
  const conn: RawConn = { socket, frames, isClosed: false, closed: Promise.resolve() };
  conn.closed = new Promise((resolve) => socket.once('close', () => {
    conn.isClosed = true;
    resolve();
  }));
  return conn;
}

const hello = (from: string, to: string) =>
  ({ t: 'hello', v: 2, from, to, eph: toBase64Url(x25519Generate().publicKey), nonce: toBase64Url(randomBytes(32)) });

/** `count` idle connections from each address; each one the peer closes is reopened (after `pauseMs`) until stop() (at the latest in teardown). */
function flood(t: TestContext, port: number, addresses: string[], count: number, opts: { reconnect: boolean; pauseMs?: number }) {
  let stopped = false;
  const state = { opened: 0, closedByPeer: 0, open: new Set<net.Socket>() };
  const openOne = (from: string) => {
    if (stopped) return;
    const conn = rawConnect(t, port, from);
    state.opened += 1;
    state.open.add(conn.socket);
    void conn.closed.then(() => {
      state.open.delete(conn.socket);
      if (stopped) return;
      state.closedByPeer += 1;
      if (opts.reconnect) setTimeout(() => openOne(from), opts.pauseMs ?? 20).unref();
    });
  };
  for (const from of addresses) for (let i = 0; i < count; i++) openOne(from);
  const stop = () => {
    stopped = true;
    for (const s of state.open) s.destroy();
  };
  t.after(stop);
  return { state, stop };
}

type PoolStats = Awaited<ReturnType<LinkPool['stats']>>;

/** Samples a pool's stats on demand, keeping the most pending handshakes and open sockets seen in any sample. */
function sampler(stats: () => Promise<PoolStats>) {
  const max = { pending: 0, sockets: 0 };
  return {
    max,
    async sample(): Promise<PoolStats> {
      const s = await stats();
      max.pending = Math.max(max.pending, s.pending);
      max.sockets = Math.max(max.sockets, s.sockets);
      return s;
    },
  };
}

async function pool(t: TestContext, me: LinkIdentity, pinnedKey: PinnedKeyLookup, limits: Partial<LinkLimits>, localKey?: (u: string) => KeyObject | undefined) {
  const p = new LinkPool(me, pinnedKey, () => undefined, { limits, ...(localKey ? { localKey } : {}) });
  await p.listen(0, '127.0.0.1');
  t.after(() => p.close());
  const refused: RefusalDetail[] = [];
  const summaries: RefusalSummary[] = [];
  p.on('refused', (d) => refused.push(d));
  p.on('refused_summary', (s) => summaries.push(s));
  return { pool: p, refused, summaries };
}

// ---- caps and the deadline -------------------------------------------------------------------

test('300 idle connections from 5 addresses: the peer holds at most the caps, closes or evicts the rest at once, cuts the held ones at the deadline, and reports in aggregate', TIMEOUT, async (t) => {
  const limits = { pendingPerAddress: 10, pendingTotal: 25, handshakeTimeoutMs: 1500, refusalReportsPerInterval: 5, refusalIntervalMs: 1000 };
  const { pool: p, refused, summaries } = await pool(t, BOB, pins({ alice: alice.publicKey }), limits);
  const addresses = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];
  const { max, sample } = sampler(() => p.stats());
  const started = Date.now();
  const f = flood(t, p.port, addresses, 60, { reconnect: false });

  // 275 are closed at once or evicted for a lighter address; 25 (the total cap; 10 at most from
  // any one address) are held.
  await until('275 connections closed over the caps', () => f.state.closedByPeer >= 275);
  const s = await sample();
  assert.equal(f.state.closedByPeer, 275);
  assert.equal(s.pending, 25);
  assert.ok(s.busyRefusals < 275, `${s.busyRefusals} closed at once, the rest evicted`);
  assert.ok(s.sockets <= 25, `${s.sockets} sockets open at the peer`);
  await until('the client sees the same 25 held', () => f.state.open.size === 25);

  // The held ones are closed when the handshake deadline passes, not before.
  await until('every held connection closed', async () => (await sample(), f.state.open.size === 0));
  const elapsed = Date.now() - started;
  assert.ok(elapsed >= limits.handshakeTimeoutMs - 200, `cut after ${elapsed} ms`);
  await until('the peer holds nothing', async () => (await sample()).sockets === 0 && (await sample()).pending === 0);
  assert.ok(max.pending <= 25 && max.sockets <= 25, `at most ${max.pending} pending and ${max.sockets} sockets at any sample`);
  t.diagnostic(`300 offered: ${s.busyRefusals} closed at once, ${275 - s.busyRefusals} evicted, at most ${max.pending} pending / ${max.sockets} sockets, all cut after ${elapsed} ms`);

  // 300 refusals: a few reported one by one, the rest in summaries with counts.
  await until('all 300 refusals reported', () => refused.length + summaries.reduce((n, x) => n + x.count, 0) === 300);
  assert.ok(refused.length <= 5 * (1 + Math.ceil((Date.now() - started) / limits.refusalIntervalMs)), `${refused.length} one by one`);
  const byCode = new Map<string, number>();
  for (const r of refused) byCode.set(r.code, (byCode.get(r.code) ?? 0) + 1);
  for (const x of summaries) for (const [code, n] of x.codes) byCode.set(code, (byCode.get(code) ?? 0) + n);
  assert.deepEqual(Object.fromEntries(byCode), { 'link.busy': 275, 'link.timeout': 25 });
  const evicted = refused.filter(isEviction).length + summaries.reduce((n, x) => n + x.evicted, 0);
  assert.equal(evicted + s.busyRefusals, 275, `${evicted} evictions reported`);
  assert.match(summaries[0].message, /refused \d+ more peer links in the last 1 s from \d+ address/);
  assert.ok(summaries.some((x) => x.evicted > 0 && /of them evicted to make room for other addresses/.test(x.message)), 'evictions in a summary');
});

test('with the total full, the oldest handshake of the heaviest address is told busy and cut to make room for a lighter address; a member links', TIMEOUT, async (t) => {
  const server = await LinkServer.listen({
    host: '127.0.0.1', port: 0, me: BOB, pinnedKey: pins({ alice: alice.publicKey }),
    limits: { pendingPerAddress: 2, pendingTotal: 4, handshakeTimeoutMs: 60_000 },
  });
  t.after(() => server.close());
  const refused: { address: string; code: string; message: string }[] = [];
  server.on('refused', (r) => refused.push(r));
  const hold = async (from: string) => {
    const before = server.pendingCount + server.evictions;
    const c = rawConnect(t, server.port, from);
    await until(`${from} counted`, () => server.pendingCount + server.evictions > before || c.isClosed);
    return c;
  };
  const [x1, x2, y1, y2] = [await hold('127.0.0.2'), await hold('127.0.0.2'), await hold('127.0.0.3'), await hold('127.0.0.3')];
  assert.equal(server.pendingCount, 4);

  // 127.0.0.4 holds none: the oldest of the tied .2 and .3 (x1) makes room.
  const z1 = await hold('127.0.0.4');
  await x1.closed;
  assert.deepEqual(x1.frames, [{ t: 'refused', code: 'link.busy', message: 'busy: too many handshakes under way from your address; try again in a few seconds' }]);
  assert.equal(server.pendingCount, 4);
  assert.equal(server.evictions, 1);
  assert.ok(isEviction(refused[0] as RefusalDetail), refused[0].message);
  assert.match(refused[0].message, /^evicted the handshake of 127\.0\.0\.2:\d+, the oldest of 2 under way from that address, to make room for a connection from 127\.0\.0\.4$/);

  // .2 again (1 held; .3 holds 2): only one more than .2, so closed at once and nothing evicted.
  const x3 = rawConnect(t, server.port, '127.0.0.2');
  await x3.closed;
  assert.deepEqual(x3.frames, []);
  assert.equal(server.busyRefusals, 1);
  assert.match(refused[1].message, /at once: 1 handshakes from that address and 4 in all are already under way \(the total cap/);

  // A member from 127.0.0.1: .3's oldest makes room, and the handshake completes.
  const linked = once(server, 'link') as Promise<[PeerLink]>;
  const l = await connectLink({ host: '127.0.0.1', port: server.port, me: ALICE, remoteUser: 'bob', pinnedKey: alicePins });
  t.after(() => l.close());
  assert.equal((await linked)[0].remoteUser, 'alice');
  await y1.closed;
  assert.equal(server.evictions, 2);
  assert.deepEqual([x2, y2, z1].map((c) => c.isClosed), [false, false, false]);
  assert.equal(server.pendingCount, 3);
});

test('a real member links and talks while a stranger holds its address at the cap; an established link goes on', TIMEOUT, async (t) => {
  const limits = { pendingPerAddress: 16, pendingTotal: 64, handshakeTimeoutMs: 2000 };
  const { pool: p } = await pool(t, BOB, pins({ alice: alice.publicKey, carol: carol.publicKey }), limits);
  const linked = once(p, 'linked') as Promise<[string, PeerLink]>;
  const established = await connectLink({ host: '127.0.0.1', port: p.port, me: ALICE, remoteUser: 'bob', pinnedKey: alicePins });
  t.after(() => established.close());
  await linked;

  const f = flood(t, p.port, ['127.0.0.2'], 300, { reconnect: true });
  await until('the stranger holds its cap', async () => (await p.stats()).pending >= 16 && f.state.closedByPeer >= 284);

  // During the flood: the old link carries a message, and a new member links and is heard.
  const heard = (once(p, 'message') as Promise<[string]>).then(([from]) => from);
  assert.equal(established.send({ t: 'ping' }), true);
  assert.equal(await heard, 'alice');
  const fresh = await connectLink({ host: '127.0.0.1', port: p.port, me: CAROL, remoteUser: 'bob', pinnedKey: alicePins });
  t.after(() => fresh.close());
  const heardCarol = (once(p, 'message') as Promise<[string]>).then(([from]) => from);
  fresh.send({ t: 'ping' });
  assert.equal(await heardCarol, 'carol');
  const s = await p.stats();
  assert.ok(s.pending <= 16, `${s.pending} pending`);
  f.stop();
});

test('links per authenticated user are bounded: the oldest go', TIMEOUT, async (t) => {
  const { pool: p } = await pool(t, BOB, pins({ alice: alice.publicKey }), { linksPerUser: 3 });
  const links: PeerLink[] = [];
  for (let i = 0; i < 8; i++) {
    const l = await connectLink({ host: '127.0.0.1', port: p.port, me: ALICE, remoteUser: 'bob', pinnedKey: alicePins });
    t.after(() => l.close());
    links.push(l);
  }
  await until('bob holds 3 links with alice', async () => (await p.stats()).accepted === 3 && links.filter((l) => !l.closed).length === 3);
  assert.deepEqual(links.map((l) => l.closed), [true, true, true, true, true, false, false, false]);
  assert.equal(p.list().length, 3);
});

// ---- work a stranger can cause ---------------------------------------------------------------

test('the responder signs nothing for a stranger: hello_reply carries no signature, a forged proof is refused', TIMEOUT, async (t) => {
  const server = await LinkServer.listen({ host: '127.0.0.1', port: 0, me: BOB, pinnedKey: pins({ alice: alice.publicKey }) });
  t.after(() => server.close());
  const refused = once(server, 'refused') as Promise<[{ code: string }]>;
  const c = rawConnect(t, server.port, '127.0.0.2');
  c.socket.write(encodeFrame(hello('alice', 'bob')));
  await until('hello_reply', () => c.frames.length >= 1);
  const reply = c.frames[0] as Record<string, unknown>;
  assert.equal(reply.t, 'hello_reply');
  assert.equal('sig' in reply, false, 'nothing signed before the initiator proved who it is');
  c.socket.write(encodeFrame({ t: 'hello_finish', sig: toBase64Url(randomBytes(256)) }));
  assert.equal((await refused)[0].code, 'link.bad_signature');
  await c.closed;
  assert.deepEqual(c.frames.map((f) => (f as { t: string }).t), ['hello_reply', 'refused'], 'no sealed frame: no signature was made');
});

test('an initiator that gave up (its deadline ran out) before or after its hello is closed without a refusal reported; a first frame that is not hello still is', TIMEOUT, async (t) => {
  const server = await LinkServer.listen({ host: '127.0.0.1', port: 0, me: BOB, pinnedKey: pins({ alice: alice.publicKey }) });
  t.after(() => server.close());
  const reported: { code: string; message: string }[] = [];
  server.on('refused', (d: { code: string; message: string }) => reported.push(d));
  // What withDeadline writes when the initiator's handshake deadline runs out before runInitiator ran.
  const gaveUp = rawConnect(t, server.port, '127.0.0.2');
  gaveUp.socket.write(encodeFrame({ t: 'refused', code: 'link.timeout', message: 'no complete handshake within 5000 ms' }));
  gaveUp.socket.end();
  await gaveUp.closed;
  // Or after its hello, at the next step: the same.
  const late = rawConnect(t, server.port, '127.0.0.4');
  late.socket.write(encodeFrame(hello('alice', 'bob')));
  await until('hello_reply', () => late.frames.length >= 1);
  late.socket.write(encodeFrame({ t: 'refused', code: 'link.timeout', message: 'no complete handshake within 5000 ms' }));
  late.socket.end();
  await late.closed;
  const odd = rawConnect(t, server.port, '127.0.0.3');
  const refused = once(server, 'refused') as Promise<[{ code: string }]>;
  odd.socket.write(encodeFrame({ t: 'hello_finish', sig: toBase64Url(randomBytes(256)) }));
  assert.equal((await refused)[0].code, 'link.protocol');
  assert.deepEqual(reported.map((r) => r.code), ['link.protocol'], `only the faulty opening is reported: ${JSON.stringify(reported)}`);
  assert.deepEqual(gaveUp.frames, [], 'nothing answered to a peer that gave up');
});

test('a stranger cannot make a pending connection buffer a large frame: over 4 KiB of one handshake frame is refused at once', TIMEOUT, async (t) => {
  const server = await LinkServer.listen({ host: '127.0.0.1', port: 0, me: BOB, pinnedKey: pins({ alice: alice.publicKey }), handshakeTimeoutMs: 60_000 });
  t.after(() => server.close());
  const refused = once(server, 'refused') as Promise<[{ code: string; message: string }]>;
  const c = rawConnect(t, server.port, '127.0.0.2');
  const header = Buffer.alloc(4);
  header.writeUInt32BE(PEER_FRAME_LIMIT - 1); // a legal size for a sealed frame, not for a handshake
  c.socket.write(Buffer.concat([header, randomBytes(64 * 1024)]));
  const [r] = await refused; // long before the 60 s deadline
  assert.equal(r.code, 'link.protocol');
  assert.match(r.message, /over 4096 bytes of one handshake frame/);
  await c.closed;
  assert.equal(server.pendingCount, 0);
});

test('hellos with unknown names cost at most the lookup budget; repeats come from the cache; a member from another address still links', TIMEOUT, async (t) => {
  let lookups = 0;
  const known = new Map<string, KeyObject>([['alice', alice.publicKey]]);
  const remote: PinnedKeyLookup = async (user) => {
    lookups += 1;
    return known.get(user);
  };
  const limits = { lookupBurstPerAddress: 4, lookupPerSecondPerAddress: 0, lookupBurstTotal: 10, lookupPerSecondTotal: 0, pendingPerAddress: 100 };
  const { pool: p } = await pool(t, BOB, remote, limits, () => undefined);

  const answer = async (name: string) => {
    const c = rawConnect(t, p.port, '127.0.0.2');
    c.socket.write(encodeFrame(hello(name, 'bob')));
    await c.closed;
    return (c.frames.at(-1) as { code?: string } | undefined)?.code;
  };
  // The same unknown name, over and over: one lookup, then the negative cache.
  const ghost = await Promise.all(Array.from({ length: 20 }, () => answer('ghost')));
  assert.ok(ghost.every((code) => code === 'link.unknown_user'), ghost.join());
  assert.equal(lookups, 1);
  // Forty different unknown names: the address's remaining 3 tokens, then `link.busy`.
  const names = Array.from({ length: 40 }, (_, i) => `stranger${i}`);
  const codes = await Promise.all(names.map(answer));
  assert.equal(lookups, 4);
  assert.equal((await p.stats()).lookups, 4);
  assert.equal(codes.filter((c) => c === 'link.unknown_user').length, 3);
  assert.equal(codes.filter((c) => c === 'link.busy').length, 37);

  // alice, not pinned yet, from 127.0.0.1: her address has its own budget.
  const linked = once(p, 'linked') as Promise<[string]>;
  const l = await connectLink({ host: '127.0.0.1', port: p.port, me: ALICE, remoteUser: 'bob', pinnedKey: alicePins });
  t.after(() => l.close());
  assert.equal((await linked)[0], 'alice');
  assert.equal(lookups, 5);
});

test('signatures wait for the budget instead of failing: real links beyond the burst still open', TIMEOUT, async (t) => {
  const { pool: p } = await pool(t, BOB, pins({ alice: alice.publicKey }), { signBurstTotal: 1, signPerSecondTotal: 4 });
  const started = Date.now();
  const links = await Promise.all(Array.from({ length: 4 }, () =>
    connectLink({ host: '127.0.0.1', port: p.port, me: ALICE, remoteUser: 'bob', pinnedKey: alicePins })));
  for (const l of links) t.after(() => l.close());
  assert.equal(links.length, 4);
  // One token at once, then 4 per second: the last of four waits about 750 ms.
  assert.ok(Date.now() - started >= 600, `four links took ${Date.now() - started} ms`);
});

// ---- engines with a real tracker -------------------------------------------------------------

/**
 * A tracker and bob (with `linkLimits`), alice and carol registered on it; alice has sent bob a
 * direct message he received (her link to him is open), carol has never linked with him.
 */
async function floodTargets(t: TestContext, linkLimits: Partial<LinkLimits>) {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const bobE = await registered(t, tracker, 'bob', { linkLimits });
  const aliceE = await registered(t, tracker, 'alice');
  const carolE = await registered(t, tracker, 'carol');
  await deliveredDirect(aliceE, bobE, 'before');
  return { bobE, aliceE, carolE };
}

/** The engine's link pool (a private field: `s.pool` while logged in, `pool` before engine.ts was split). */
const poolOf = (engine: ChatEngine) => {
  const e = engine as unknown as { s?: { pool?: LinkPool }; pool?: LinkPool };
  return (e.s?.pool ?? e.pool)!;
};

test('engines: during a flood of idle connections members keep linking and delivering, errors stay few, the peer holds at most the cap', TIMEOUT, async (t) => {
  const linkLimits = { pendingPerAddress: 16, pendingTotal: 64, handshakeTimeoutMs: 2000, refusalReportsPerInterval: 3, refusalIntervalMs: 2000 };
  const { bobE, aliceE, carolE } = await floodTargets(t, linkLimits);

  const errors = collect(bobE, 'error');
  const started = Date.now();
  const f = flood(t, bobE.peerPort, ['127.0.0.2'], 300, { reconnect: true });
  const { max, sample } = sampler(() => poolOf(bobE).stats());
  // Two handshake deadlines' worth of held connections have timed out and been reopened.
  await until('the flood ran past two deadlines', async () => (await sample(), Date.now() - started > 2 * linkLimits.handshakeTimeoutMs + 500));

  // An established link and a new one (carol, never linked with bob) both deliver, both ways.
  await deliveredDirect(aliceE, bobE, 'during, alice', 30_000);
  const fromCarol = waitFor(bobE, 'message', (m) => m.text === 'during, carol', 30_000);
  assert.equal((await carolE.sendDirect('bob', 'during, carol')).recipients, 1);
  await fromCarol;
  await deliveredDirect(bobE, carolE, 'during, to carol', 30_000);
  await sample();
  const elapsed = Date.now() - started;
  f.stop();

  assert.ok(f.state.opened > 600, `${f.state.opened} connections opened by the stranger`);
  assert.ok(max.pending <= 16, `at most ${max.pending} pending`);
  // The flood's own sockets (16) plus members' links and closing ones; never the 300 offered.
  assert.ok(max.sockets <= 16 + 8, `at most ${max.sockets} sockets open at bob's port`);
  t.diagnostic(`${f.state.opened} stranger connections in ${elapsed} ms: at most ${max.pending} pending, ${max.sockets} sockets; ` +
    `${errors.filter((e) => e.code.startsWith('link.')).length} link error events`);
  const intervals = 1 + Math.ceil(elapsed / linkLimits.refusalIntervalMs);
  const linkErrors = errors.filter((e) => e.code.startsWith('link.'));
  assert.ok(linkErrors.length <= intervals * (linkLimits.refusalReportsPerInterval + 1),
    `${linkErrors.length} link errors for ${f.state.opened} refused connections in ${elapsed} ms`);
  assert.ok(errors.some((e) => e.code === 'link.refused' && /more peer links/.test(e.message)), 'a summary with counts');
});

test('engines: strangers from 5 addresses hold every pending slot and reconnect (the total cap full); a new member still links and delivers', TIMEOUT, async (t) => {
  // The tester's flood at test scale: each address offers its cap (8), 40 in all for a total of
  // 24, reopening whatever is closed (refused, evicted or timed out). Before eviction, every
  // connection from anyone else was closed at once with link.busy while the flood went on.
  const linkLimits = { pendingPerAddress: 8, pendingTotal: 24, handshakeTimeoutMs: 3000, refusalReportsPerInterval: 3, refusalIntervalMs: 1000 };
  const { bobE, aliceE, carolE } = await floodTargets(t, linkLimits);

  const errors = collect(bobE, 'error');
  const addresses = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];
  const started = Date.now();
  const f = flood(t, bobE.peerPort, addresses, linkLimits.pendingPerAddress, { reconnect: true });
  const { max, sample } = sampler(() => poolOf(bobE).stats());
  // Past one deadline (the first held ones timed out and were reopened), and the total full again.
  await until('the flood fills the total again after a deadline', async () =>
    (await sample()).pending === linkLimits.pendingTotal && Date.now() - started > linkLimits.handshakeTimeoutMs + 500);
  const busyBefore = (await sample()).busyRefusals;

  // carol has never linked with bob: her connection comes from 127.0.0.1 into a full total.
  const fromCarol = waitFor(bobE, 'message', (m) => m.text === 'during, carol', 20_000);
  const sentAt = Date.now();
  assert.equal((await carolE.sendDirect('bob', 'during, carol')).recipients, 1);
  await fromCarol;
  const tookMs = Date.now() - sentAt;
  // The established link goes on too.
  await deliveredDirect(aliceE, bobE, 'during, alice', 20_000);
  // The flood kept going (refused at once over and over) and was still holding the total. Waited
  // for, not sampled once: on a loaded machine carol can link before the flood's next refusal.
  await until('the flood refused at once again after carol linked', async () => (await sample()).busyRefusals > busyBefore, 20_000);
  assert.ok(max.pending <= linkLimits.pendingTotal, `at most ${max.pending} pending`);
  // Evictions are reported: one by one or counted in a summary.
  await waitFor(bobE, 'error', (e) => /evicted/.test(e.message), 5_000).catch(() => undefined);
  assert.ok(errors.some((e) => e.code === 'link.busy' && /^refused a peer link from .*: evicted the handshake of/.test(e.message)) ||
    errors.some((e) => e.code === 'link.refused' && /\d+ of them evicted to make room for other addresses/.test(e.message)), 'evictions reported');
  const elapsed = Date.now() - started;
  f.stop();
  t.diagnostic(`${f.state.opened} stranger connections from ${addresses.length} addresses in ${elapsed} ms, at most ${max.pending} pending; ` +
    `carol's message arrived ${tookMs} ms after sending; ${errors.length} error events at bob`);
});

test('engines: more stranger addresses than the total cap, one idle connection each, reconnecting; a new member still links and delivers', TIMEOUT, async (t) => {
  // The tester's flood from 130+ addresses at test scale: 10 addresses for a total of 8, each
  // reopening its one connection 100 ms after it is closed. Every address then holds one, so
  // none may take a slot from another; before a newcomer from an address holding none could
  // evict the oldest handshake overall, every connection from anyone else was closed at once.
  const linkLimits = { pendingPerAddress: 8, pendingTotal: 8, handshakeTimeoutMs: 3000, refusalReportsPerInterval: 3, refusalIntervalMs: 1000 };
  const { bobE, aliceE, carolE } = await floodTargets(t, linkLimits);

  const errors = collect(bobE, 'error');
  const addresses = Array.from({ length: 10 }, (_, i) => `127.0.0.${i + 2}`);
  const started = Date.now();
  const f = flood(t, bobE.peerPort, addresses, 1, { reconnect: true, pauseMs: 100 });
  const { max, sample } = sampler(() => poolOf(bobE).stats());
  // The total full, and the addresses left over turned away (evicting) and reconnecting, round after round.
  await until('the flood fills the total and keeps reconnecting', async () => {
    const s = await sample();
    return s.pending === linkLimits.pendingTotal && s.busyRefusals + s.evictions >= 20;
  });

  // carol has never linked with bob: her connection comes from 127.0.0.1 into a full total.
  const fromCarol = waitFor(bobE, 'message', (m) => m.text === 'during, carol', 20_000);
  const sentAt = Date.now();
  assert.equal((await carolE.sendDirect('bob', 'during, carol')).recipients, 1);
  await fromCarol;
  const tookMs = Date.now() - sentAt;
  await deliveredDirect(bobE, carolE, 'during, to carol', 20_000);
  // The established link goes on too.
  await deliveredDirect(aliceE, bobE, 'during, alice', 20_000);
  await sample();
  assert.ok(max.pending <= linkLimits.pendingTotal, `at most ${max.pending} pending`);
  const elapsed = Date.now() - started;
  f.stop();
  t.diagnostic(`${f.state.opened} stranger connections from ${addresses.length} addresses in ${elapsed} ms, at most ${max.pending} pending, ` +
    `${(await sample()).evictions} evictions; carol's message arrived ${tookMs} ms after sending; ${errors.length} error events at bob`);
});

test('engines: hellos naming users the tracker does not know cost at most the budgeted tracker lookups; a new member still links', TIMEOUT, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const linkLimits = { lookupBurstPerAddress: 3, lookupPerSecondPerAddress: 0, lookupBurstTotal: 6, lookupPerSecondTotal: 0 };
  // Bob reports the refused hellos: one by one (unknown user, lookup budget spent) or in a summary.
  const bobE = await registered(t, tracker, 'bob', { linkLimits, expectErrors: ['link.unknown_user', 'link.busy', 'link.refused'] });
  const before = (await poolOf(bobE).stats()).lookups;
  const answer = async (name: string) => {
    const c = rawConnect(t, bobE.peerPort, '127.0.0.2');
    c.socket.write(encodeFrame(hello(name, 'bob')));
    await c.closed;
    return (c.frames.at(-1) as { code?: string } | undefined)?.code;
  };
  const codes: (string | undefined)[] = [];
  for (let i = 0; i < 30; i++) codes.push(await answer(`nobody${i}`));
  for (let i = 0; i < 10; i++) codes.push(await answer('nobody0')); // looked up once already: cached
  assert.equal((await poolOf(bobE).stats()).lookups - before, 3);
  assert.equal(codes.filter((c) => c === 'link.unknown_user').length, 3 + 10);
  assert.equal(codes.filter((c) => c === 'link.busy').length, 27);

  // carol registers now; bob has never seen her and looks her up from 127.0.0.1's own budget.
  const carolE = await registered(t, tracker, 'carol');
  const got = waitFor(bobE, 'message', (m) => m.text === 'first contact', 30_000);
  assert.equal((await carolE.sendDirect('bob', 'first contact')).recipients, 1);
  await got;
});
