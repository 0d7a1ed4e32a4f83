// Issue 12 across VS Code windows (extension/window-link.ts), without VS Code: over a real local
// socket, an attached window's reply keeps the message it answers (checked by the view's own
// rule), the holder's new posts (message/updated, reads/changed, message/revealed) reach attached
// views, and a search's results come back in the request's answer.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { HostToView, ViewSnapshot } from '../../protocol/view.ts';
import { HolderLink, isHostPost, WindowHub } from '../../extension/window-link.ts';

const SNAPSHOT: ViewSnapshot = { session: { state: 'online', user: 'alice', tracker: '127.0.0.1:1', detail: 'online' }, rooms: [], directory: [], people: [] };

test('a reply from an attached window keeps its replyTo; a bad one is refused in words; the new posts and search results come back', { timeout: 30_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-chat-window-actions-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const calls: { message: unknown; reply: (m: HostToView) => void }[] = [];
  let called: () => void = () => {};
  const hub = new WindowHub({
    fromView: (message, reply) => {
      calls.push({ message, reply });
      called();
    },
    snapshot: () => SNAPSHOT,
    attentionChanged: () => {},
  });
  const server = createServer({ pauseOnConnect: true }, (socket) => hub.accept(socket));
  const path = join(dir, 's.sock');
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.after(() => {
    hub.close();
    server.close();
  });
  const posts: HostToView[] = [];
  let posted: () => void = () => {};
  const socket = createConnection(path);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const link = new HolderLink(socket, {
    post: (m) => {
      posts.push(m);
      posted();
    },
    closed: () => {},
  });
  t.after(() => link.close());
  const nextPost = () => new Promise<void>((resolve) => (posted = resolve));
  const nextCall = () => new Promise<void>((resolve) => (called = resolve));

  let snapshot = nextPost();
  link.send({ type: 'view/ready' });
  await snapshot;

  let call = nextCall();
  link.send({ type: 'message/send', requestId: 7, key: 'r1', text: 'agreed', replyTo: 'm-original' } as never);
  await call;
  assert.deepEqual(calls[0]!.message, { type: 'message/send', requestId: 7, key: 'r1', text: 'agreed', replyTo: 'm-original' }, 'the reply keeps the message it answers');

  const refused = nextPost();
  link.send({ type: 'message/send', requestId: 8, key: 'r1', text: 'agreed', replyTo: 'x'.repeat(65) } as never);
  await refused;
  const answer = posts.at(-1) as Extract<HostToView, { type: 'request/completed' }>;
  assert.deepEqual([answer.requestId, answer.ok, answer.error?.code], [8, false, 'request.invalid']);
  assert.match(answer.error!.message, /replyTo/);
  assert.equal(calls.length, 1, 'nothing carried out');

  call = nextCall();
  link.send({ type: 'search/run', requestId: 9, query: 'deploy' });
  await call;
  const results = nextPost();
  calls[1]!.reply({ type: 'request/completed', requestId: 9, ok: true, results: [{ key: 'r1', title: 'lobby', id: 'm1', from: 'bob', text: 'deploy at 5', sentAt: 1 }] });
  await results;
  assert.deepEqual((posts.at(-1) as Extract<HostToView, { type: 'request/completed' }>).results?.[0]?.text, 'deploy at 5');

  for (const m of [
    { type: 'message/updated', key: 'r1', message: { kind: 'message', id: 'm1', from: 'bob', text: '', sentAt: 1, mine: false, mentionsMe: false, deleted: true } },
    { type: 'reads/changed', key: 'r1', reads: [{ user: 'bob', upTo: 'm1' }] },
    { type: 'message/revealed', key: 'r1', id: 'm1' },
  ] as HostToView[]) {
    assert.equal(isHostPost(m), true, m.type);
    const arrived = nextPost();
    hub.broadcast(m);
    await arrived;
    assert.deepEqual(posts.at(-1), m);
  }
});
