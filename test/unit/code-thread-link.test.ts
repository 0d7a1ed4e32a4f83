// Code threads across VS Code windows (extension/code-thread-link.ts over extension/window-link.ts),
// without VS Code: over a real local socket, a window that asks for its threads gets what the
// holder's threads are told (only what a thread holds, nothing before it asked), a window that
// does not read what it is sent makes the holder's feed to it wait instead of being dropped, and
// what an attached window reads is checked: a malformed or hostile thread frame reaches no thread.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ThreadRelay } from '../../extension/code-thread-link.ts';
import type { ThreadSink } from '../../extension/message-updates.ts';
import { HolderLink, WindowHub, type WindowThreads } from '../../extension/window-link.ts';
import { encodeFrame } from '../../protocol/frame.ts';
import type { TimelineMessage, ViewSnapshot } from '../../protocol/view.ts';
import type { ThreadFrame } from '../../protocol/window-threads.ts';

const SNAPSHOT: ViewSnapshot = { session: { state: 'online', user: 'alice', tracker: '127.0.0.1:1', detail: 'online' }, rooms: [], directory: [], people: [] };

type Told = ['message', string, string, TimelineMessage] | ['updated', string, TimelineMessage] | ['forget', string] | ['clear'];

/** A ThreadSink that records what it is told and wakes a waiter after `n` calls. */
class Recorder implements ThreadSink {
  readonly told: Told[] = [];
  private waiter?: { n: number; resolve: () => void };
  message(key: string, title: string, m: TimelineMessage): void {
    this.add(['message', key, title, m]);
  }
  updated(key: string, m: TimelineMessage): void {
    this.add(['updated', key, m]);
  }
  forget(key: string): void {
    this.add(['forget', key]);
  }
  clear(): void {
    this.add(['clear']);
  }
  /** Resolves once `n` calls in all were told. */
  count(n: number): Promise<void> {
    if (this.told.length >= n) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = { n, resolve }));
  }
  private add(t: Told): void {
    this.told.push(t);
    if (this.waiter && this.told.length >= this.waiter.n) this.waiter.resolve();
  }
}

const message = (id: string, fields: Partial<TimelineMessage> = {}): TimelineMessage => ({ kind: 'message', id, from: 'bob', text: 'look', sentAt: 1_700_000_000_000, mine: false, mentionsMe: false, ...fields });
const snippet = { language: 'typescript', path: 'src/a.ts', startLine: 3, endLine: 4, code: 'const a = 1;\nconst b = 2;' };

async function socketPath(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-chat-thread-link-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 's.sock');
}

/**
 * The holder window's hub, listening on a temp socket (`path`); `wants.next` is told each window that
 * asks for its threads (replace it to watch). Closed when the test ends.
 */
async function holderHub(t: TestContext): Promise<{ path: string; hub: WindowHub; wants: { next: (w: WindowThreads) => void } }> {
  const path = await socketPath(t);
  const wants = { next: (_w: WindowThreads): void => {} };
  const hub = new WindowHub({ fromView: () => {}, snapshot: () => SNAPSHOT, attentionChanged: () => {}, threadsWanted: (w) => wants.next(w) });
  const server = createServer({ pauseOnConnect: true }, (socket) => hub.accept(socket));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.after(() => {
    hub.close();
    server.close();
  });
  return { path, hub, wants };
}

async function connect(path: string): Promise<Socket> {
  const socket = createConnection(path);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  return socket;
}

test('a window that asks for its threads gets what the holder\'s threads are told from then on, only what a thread holds', { timeout: 30_000 }, async (t) => {
  const { path, hub, wants } = await holderHub(t);
  const relay = new ThreadRelay((frame) => hub.broadcastThreads(frame));
  const sink = new Recorder();
  const link = new HolderLink(await connect(path), { post: () => {}, threads: sink, closed: () => {} });
  t.after(() => link.close());

  // Told before the window asked: not sent to it (frames keep their order, so it would come first).
  relay.message('r1', 'general', message('before', { snippet }));
  const asked = new Promise<WindowThreads>((resolve) => (wants.next = resolve));
  link.subscribeThreads();
  const mine = await asked;
  // What the holder's threads hold now, to that window alone.
  mine.message('r1', 'general', message('s1', { snippet, delivered: { count: 1, of: 2 }, waitingFor: ['carol'], reactions: [{ emoji: '👍', users: ['carol'], mine: false }] }));
  // Then every change, to every window that asked.
  relay.message('r1', 'general', message('plain')); // neither a snippet nor a reply: no thread holds it
  relay.message('r1', 'general', message('r1a', { from: 'carol', text: 'agreed', replyTo: { id: 's1', from: 'bob', excerpt: 'look' } }));
  relay.updated('r1', message('plain', { text: 'edited', edited: true })); // no thread holds it
  relay.updated('r1', message('s1', { text: '', deleted: true }));
  relay.forget('r2');
  relay.clear();
  await sink.count(5);
  assert.deepEqual(sink.told, [
    ['message', 'r1', 'general', message('s1', { snippet, reactions: [{ emoji: '👍', users: ['carol'], mine: false }] })],
    ['message', 'r1', 'general', message('r1a', { from: 'carol', text: 'agreed', replyTo: { id: 's1' } })],
    ['updated', 'r1', message('s1', { text: '', deleted: true })],
    ['forget', 'r2'],
    ['clear'],
  ]);
  // Asked twice: fed once.
  let again = 0;
  wants.next = () => again++;
  link.subscribeThreads();
  relay.forget('r3');
  await sink.count(6);
  assert.equal(again, 0);
});

test("a window that does not read what it is sent makes its thread feed wait, and is not dropped for it", { timeout: 30_000 }, async (t) => {
  const { path, wants } = await holderHub(t);
  const sink = new Recorder();
  let closed = false;
  const socket = await connect(path);
  const link = new HolderLink(socket, { post: () => {}, threads: sink, closed: () => (closed = true) });
  t.after(() => link.close());
  const asked = new Promise<WindowThreads>((resolve) => (wants.next = resolve));
  link.subscribeThreads();
  const mine = await asked;
  socket.pause();
  const code = 'x'.repeat(60_000);
  let sent = 0;
  let behind: Promise<void> | undefined;
  // A feed goes on while drained() says nothing; past the pace it says wait.
  while (!(behind = mine.drained()) && sent < 2_000) mine.message('r1', 'general', message(`s${sent++}`, { snippet: { ...snippet, code } }));
  assert.ok(behind, `never told to wait after ${sent} frames`);
  socket.resume();
  await behind;
  await sink.count(sent);
  assert.equal(sink.told.length, sent);
  assert.equal(closed, false);
});

test('an attached window tells its threads only well-formed thread frames: a malformed or hostile one reaches no thread, and is said', { timeout: 30_000 }, async (t) => {
  const path = await socketPath(t);
  // Something else answering on the lock's socket (another local process of this user).
  let holder!: Socket;
  const server = createServer((socket) => (holder = socket));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.after(() => {
    holder?.destroy();
    server.close();
  });
  const sink = new Recorder();
  const link = new HolderLink(await connect(path), { post: () => {}, threads: sink, closed: () => {} });
  t.after(() => link.close());
  while (!holder) await new Promise<void>((resolve) => setImmediate(resolve));

  const warnings: string[] = [];
  const warn = console.warn;
  console.warn = (text: string) => warnings.push(text);
  t.after(() => (console.warn = warn));
  const good = { type: 'threads/message', key: 'r1', title: 'general', message: { id: 's1', from: 'bob', text: 'look', sentAt: 1, mine: false, mentionsMe: false, snippet } };
  const raw = (json: string) => {
    const body = Buffer.from(json, 'utf8');
    const header = Buffer.alloc(4);
    header.writeUInt32BE(body.length, 0);
    return Buffer.concat([header, body]);
  };
  const bad: (ThreadFrame | Record<string, unknown>)[] = [
    { ...good, message: { ...good.message, snippet: { ...snippet, startLine: 0 } } },
    { ...good, message: { ...good.message, id: 'x'.repeat(65) } },
    { ...good, message: { ...good.message, reactions: [{ emoji: '<img src=x>', users: ['bob'], mine: false }] } },
    { ...good, message: { ...good.message, snippet: { ...snippet, path: 'p'.repeat(1025) } } },
    { ...good, key: '' },
    { type: 'threads/updated', key: 'r1' },
    { type: 'threads/forget', key: 42 },
  ];
  for (const frame of bad) holder.write(encodeFrame(frame, 32 * 1024 * 1024));
  // A prototype key where the message should be: a key like any other, and no message.
  holder.write(raw('{"type":"threads/message","key":"r1","title":"general","__proto__":{"id":"s9"}}'));
  holder.write(encodeFrame(good, 32 * 1024 * 1024));
  await sink.count(1);
  assert.deepEqual(sink.told, [['message', 'r1', 'general', { kind: 'message', ...good.message }]]);
  assert.equal(warnings.length, bad.length + 1, warnings.join('\n'));
  assert.ok(warnings.every((w) => /code-thread frame .* was refused/.test(w)), warnings[0]);
});
