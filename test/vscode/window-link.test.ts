// The socket between VS Code windows (extension/window-link.ts), without VS Code: a WindowHub
// (the window running the engine) and HolderLinks (attached windows) over a real local socket.
// Answers go to the window that asked, posts to every ready window; what is read is checked, and
// a hostile local client gets errors or a closed socket, never a crash or a call it may not make.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { encodeFrame, FrameDecoder } from '../../protocol/frame.ts';
import type { HostToView, ViewSnapshot } from '../../protocol/view.ts';
import { HolderLink, isHostPost, WindowHub, type HubHooks } from '../../extension/window-link.ts';
import { looking, seesNewest } from '../../extension/attention.ts';

const SNAPSHOT: ViewSnapshot = { session: { state: 'online', user: 'alice', tracker: '127.0.0.1:1', detail: 'online' }, rooms: [{ key: 'r1', title: 'lobby', direct: false, private: false, unread: 2, mentions: 0, members: 2, forked: false }], directory: [], people: [] };

interface Scene {
  hub: WindowHub;
  calls: { message: unknown; reply: (m: HostToView) => void }[];
  /** Resolves when the controller has been called `n` times in all. */
  called(n: number): Promise<void>;
  /** Resolves at the next change of an attached view's visibility, its window's focus or what it shows at its newest. */
  visibility(): Promise<void>;
  connect(): Promise<Socket>;
  /** Resolves when the hub has accepted `n` windows in all. */
  accepted(n: number): Promise<void>;
}

async function scene(t: TestContext): Promise<Scene> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-chat-window-link-'));
  const path = join(dir, 's.sock');
  const calls: Scene['calls'] = [];
  const callWaiters = new Set<{ n: number; resolve: () => void }>();
  let visibilityWaiters: (() => void)[] = [];
  const hooks: HubHooks = {
    fromView: (message, reply) => {
      calls.push({ message, reply });
      for (const w of callWaiters) if (calls.length >= w.n) (callWaiters.delete(w), w.resolve());
    },
    snapshot: () => SNAPSHOT,
    attentionChanged: () => {
      const waiting = visibilityWaiters;
      visibilityWaiters = [];
      for (const w of waiting) w();
    },
  };
  const hub = new WindowHub(hooks);
  let count = 0;
  const waiting = new Set<{ n: number; resolve: () => void }>();
  const server: Server = createServer({ pauseOnConnect: true }, (socket) => {
    hub.accept(socket);
    count++;
    for (const w of waiting) if (count >= w.n) (waiting.delete(w), w.resolve());
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const sockets: Socket[] = [];
  t.after(async () => {
    hub.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });
  return {
    hub,
    calls,
    called: (n) => (calls.length >= n ? Promise.resolve() : new Promise((resolve) => callWaiters.add({ n, resolve }))),
    visibility: () => new Promise((resolve) => visibilityWaiters.push(resolve)),
    connect: () =>
      new Promise((resolve, reject) => {
        const s = createConnection(path, () => resolve(s));
        s.pause();
        sockets.push(s);
        s.once('error', reject);
      }),
    accepted: (n) => (count >= n ? Promise.resolve() : new Promise((resolve) => waiting.add({ n, resolve }))),
  };
}

/** An attached window: its link, what reached its view, and a way to wait for a post. */
function window(socket: Socket) {
  const posts: HostToView[] = [];
  const waiters = new Set<{ match: (m: HostToView) => boolean; resolve: (m: HostToView) => void }>();
  let closed!: () => void;
  const closedP = new Promise<void>((r) => (closed = r));
  const link = new HolderLink(socket, {
    post: (m) => {
      posts.push(m);
      for (const w of waiters) if (w.match(m)) (waiters.delete(w), w.resolve(m));
    },
    closed: () => closed(),
  });
  const next = (match: (m: HostToView) => boolean) => {
    const seen = posts.find(match);
    return seen ? Promise.resolve(seen) : new Promise<HostToView>((resolve) => waiters.add({ match, resolve }));
  };
  return { link, posts, next, closed: closedP };
}

/** Reads frames from a raw socket (a hostile client's view of the hub). */
function frames(socket: Socket) {
  const decoder = new FrameDecoder(32 * 1024 * 1024);
  const got: unknown[] = [];
  const waiters = new Set<() => void>();
  socket.on('data', (c: Buffer) => {
    got.push(...decoder.push(c));
    for (const w of waiters) w();
  });
  socket.resume();
  return {
    got,
    until: (n: number) => new Promise<void>((resolve) => {
      if (got.length >= n) return resolve();
      const w = () => got.length >= n && (waiters.delete(w), resolve());
      waiters.add(w);
    }),
  };
}

test('a window that says view/ready gets a snapshot, then every post; requests are answered to the window that asked', async (t) => {
  const s = await scene(t);
  const one = window(await s.connect());
  const two = window(await s.connect());
  await s.accepted(2);
  s.hub.broadcast({ type: 'typing/changed', key: 'r1', users: ['bob'] }); // before view/ready: reaches nobody
  one.link.send({ type: 'view/ready' });
  two.link.send({ type: 'view/ready' });
  assert.deepEqual((await one.next((m) => m.type === 'host/snapshot')), { type: 'host/snapshot', snapshot: SNAPSHOT });
  await two.next((m) => m.type === 'host/snapshot');

  s.hub.broadcast({ type: 'rooms/changed', rooms: [] });
  await one.next((m) => m.type === 'rooms/changed');
  await two.next((m) => m.type === 'rooms/changed');
  assert.equal(one.posts.some((m) => m.type === 'typing/changed'), false, 'nothing posted before view/ready');

  // Both views number their requests from 1: each answer goes back to its own window only.
  one.link.send({ type: 'message/send', requestId: 1, key: 'r1', text: 'from one' });
  two.link.send({ type: 'message/send', requestId: 1, key: 'r1', text: 'from two', snippet: { language: 'ts', path: 'a.ts', startLine: 1, endLine: 2, code: 'x' } });
  await s.called(2);
  const byText = new Map(s.calls.map((c) => [(c.message as { text: string }).text, c]));
  assert.deepEqual((byText.get('from two')!.message as { snippet?: unknown }).snippet, { language: 'ts', path: 'a.ts', startLine: 1, endLine: 2, code: 'x' });
  byText.get('from two')!.reply({ type: 'request/completed', requestId: 1, ok: false, error: { message: 'two failed' } });
  byText.get('from one')!.reply({ type: 'request/completed', requestId: 1, ok: true });
  assert.equal(((await one.next((m) => m.type === 'request/completed')) as { ok: boolean }).ok, true);
  assert.equal(((await two.next((m) => m.type === 'request/completed')) as { ok: boolean }).ok, false);
  assert.equal(one.posts.filter((m) => m.type === 'request/completed').length, 1);
  assert.equal(two.posts.filter((m) => m.type === 'request/completed').length, 1);

  // Attention: the hub knows when an attached view is on screen in a focused window, and what it shows at its newest.
  const anyLooking = () => s.hub.attention().some(looking);
  const anySees = (key: string) => s.hub.attention().some((a) => seesNewest(a, key));
  assert.equal(anyLooking(), false);
  let changed = s.visibility();
  two.link.send({ type: 'window/visible', visible: true });
  await changed;
  assert.equal(anyLooking(), false, 'on screen in a window in the background: not looked at');
  changed = s.visibility();
  two.link.send({ type: 'view/atNewest', key: 'r1', atNewest: true });
  await changed;
  assert.equal(anySees('r1'), false, 'at its newest, in a window in the background: not seen');
  changed = s.visibility();
  two.link.send({ type: 'window/focused', focused: true });
  await changed;
  assert.equal(anyLooking(), true);
  assert.equal(anySees('r1'), true, 'focused, on screen, at its newest: seen');
  assert.equal(anySees('r2'), false, 'another conversation is not');
  changed = s.visibility();
  two.link.send({ type: 'view/atNewest', key: 'r1', atNewest: false });
  await changed;
  assert.equal(anySees('r1'), false, 'scrolled up: not seen');
  assert.equal(s.calls.some((c) => ['view/atNewest', 'window/focused', 'window/visible'].includes((c.message as { type: string }).type)), false, 'none of it reaches the controller as a view request');
  changed = s.visibility();
  two.link.close();
  await changed;
  assert.equal(anyLooking(), false, 'a window that left is not on screen');
});

test('the holder leaving fails the requests still open, in words, and says closed', async (t) => {
  const s = await scene(t);
  const one = window(await s.connect());
  await s.accepted(1);
  one.link.send({ type: 'view/ready' });
  await one.next((m) => m.type === 'host/snapshot');
  one.link.send({ type: 'room/leave', requestId: 7, key: 'r1' });
  await s.called(1);
  s.hub.close();
  await one.closed;
  const answer = (await one.next((m) => m.type === 'request/completed')) as Extract<HostToView, { type: 'request/completed' }>;
  assert.equal(answer.requestId, 7);
  assert.equal(answer.ok, false);
  assert.match(answer.error!.message, /window running the chat closed/);
  assert.equal(one.link.closed, true);
  // Sent after the close: answered at once, never written.
  one.link.send({ type: 'room/leave', requestId: 8, key: 'r1' });
  assert.ok(one.posts.some((m) => m.type === 'request/completed' && m.requestId === 8 && !m.ok));
});

test('a hostile local client: malformed frames are dropped or answered, an oversized one closes it, nothing else is called', async (t) => {
  const s = await scene(t);
  const raw = await s.connect();
  await s.accepted(1);
  const read = frames(raw);
  const bad = Buffer.from('{not json', 'utf8');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(bad.length, 0);
  raw.write(Buffer.concat([head, bad]));
  raw.write(encodeFrame({ type: 'engine/eval', code: 'process.exit()' }));
  raw.write(encodeFrame({ type: 'command/run', command: 'workbench.action.terminal.new' }));
  raw.write(encodeFrame({ type: 'message/send', requestId: 3, key: 'r1', text: '' }));
  raw.write(encodeFrame({ type: 'message/send', requestId: 4, key: 'r1', text: 'x'.repeat(70_000) }));
  raw.write(encodeFrame(['view/ready']));
  raw.write(encodeFrame({ type: 'view/ready' }));
  await read.until(3);
  assert.deepEqual(
    read.got.map((m) => (m as { type: string; requestId?: number; error?: { code?: string } })).map((m) => [m.type, m.requestId, m.error?.code]),
    [
      ['request/completed', 3, 'request.invalid'],
      ['request/completed', 4, 'request.invalid'],
      ['host/snapshot', undefined, undefined],
    ],
  );
  assert.equal(s.calls.length, 0, 'nothing reached the controller');
  // A length over the bound: the hub closes the connection.
  const closed = new Promise((r) => raw.once('close', r));
  const huge = Buffer.alloc(4);
  huge.writeUInt32BE(64 * 1024 * 1024, 0);
  raw.write(huge);
  await closed;
  assert.equal(s.hub.count, 0);
});

test('an attached window takes only what the view protocol allows from the holder', () => {
  assert.equal(isHostPost({ type: 'host/snapshot', snapshot: SNAPSHOT }), true);
  assert.equal(isHostPost({ type: 'rooms/changed', rooms: SNAPSHOT.rooms }), true);
  assert.equal(isHostPost({ type: 'focus/requested', target: 'composer' }), false, 'focus is this window\'s own business');
  assert.equal(isHostPost({ type: 'rooms/changed', rooms: [{ key: 'r1', title: 'x', unread: -1 }] }), false);
  assert.equal(isHostPost({ type: 'host/snapshot', snapshot: { ...SNAPSHOT, session: null } }), false);
  assert.equal(isHostPost({ type: 'session/changed', session: { state: 'online', tracker: 1, detail: '' } }), false);
  assert.equal(isHostPost({ type: 'request/completed', requestId: '1', ok: true }), false);
  assert.equal(isHostPost({ type: '__proto__' }), false);
  assert.equal(isHostPost(null), false);
  assert.equal(isHostPost([{ type: 'rooms/changed' }]), false);
});
