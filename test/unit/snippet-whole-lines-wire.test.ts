// A snippet's `wholeLines` (protocol/peer.ts snippetSchema) from Share Selection to every code
// thread: worked out from the editor's selection (extension/share-selection.ts shareRange),
// kept by each schema a snippet crosses (the peer wire, an attached window's message/send, the
// thread frames to attached windows), kept at rest in the history store (real SQLite), refused
// when it is not a boolean, and absent in a message from a sender that predates it.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { shareRange, sharedLines } from '../../extension/share-selection.ts';
import { applyThreadFrame, ThreadRelay } from '../../extension/code-thread-link.ts';
import type { ThreadSink } from '../../extension/message-updates.ts';
import { randomBytes } from '../../protocol/crypto.ts';
import { isCoded } from '../../protocol/errors.ts';
import { messageBodySchema } from '../../protocol/peer.ts';
import { windowToHostSchema, type TimelineMessage } from '../../protocol/view.ts';
import { threadFrameSchema, type ThreadFrame } from '../../protocol/window-threads.ts';
import { History } from '../../peer/history.ts';
import { StoreDb } from '../../peer/store-db.ts';

const at = (line: number, character: number) => ({ line, character });
const snippet = { language: 'ts', path: 'src/retry.ts', startLine: 10, endLine: 10, code: '  retries = 3' };
const ID = 'M'.repeat(43);

test('Share Selection: whole lines when the selection reaches from its first line\'s indentation to its last line\'s end; else the part selected', () => {
  const lines = ['def retry():', '    retries = 3', '    return retries  ', ''];
  const range = (a: [number, number], b: [number, number]) => shareRange(at(...a), at(...b), (l) => lines[l]!);
  // Lines 1-3 as Shift+Down selects them (to column 0 of line 4): those lines, whole.
  assert.deepEqual(range([0, 0], [3, 0]), { start: at(0, 0), end: at(2, 20), startLine: 1, endLine: 3, wholeLines: true });
  // One line from column 0 to its end, or with its line break.
  assert.deepEqual(range([1, 0], [1, 15]), { start: at(1, 0), end: at(1, 15), startLine: 2, endLine: 2, wholeLines: true });
  assert.deepEqual(range([1, 0], [2, 0]), { start: at(1, 0), end: at(1, 15), startLine: 2, endLine: 2, wholeLines: true });
  // From the first character after the indentation (Home, Shift+End), or ending in trailing spaces: the lines whole.
  assert.deepEqual(range([1, 4], [1, 15]), { start: at(1, 0), end: at(1, 15), startLine: 2, endLine: 2, wholeLines: true });
  assert.deepEqual(range([1, 2], [2, 18]), { start: at(1, 0), end: at(2, 20), startLine: 2, endLine: 3, wholeLines: true });
  // Starting or ending inside a line's text: just the part selected.
  assert.deepEqual(range([1, 14], [1, 15]), { start: at(1, 14), end: at(1, 15), startLine: 2, endLine: 2, wholeLines: false });
  assert.deepEqual(range([1, 4], [1, 11]), { start: at(1, 0), end: at(1, 11), startLine: 2, endLine: 2, wholeLines: false });
  assert.deepEqual(range([0, 4], [3, 0]), { start: at(0, 4), end: at(2, 20), startLine: 1, endLine: 3, wholeLines: false });
  assert.equal(range([1, 3], [1, 3]), undefined, 'an empty selection is no code');
  assert.deepEqual(sharedLines(at(0, 0), at(3, 0)), { startLine: 1, endLine: 3 });
});

test('the peer wire keeps wholeLines, refuses a non-boolean, and leaves it out for a sender that never sent it', () => {
  const body = (s: unknown) => messageBodySchema.parse({ id: ID, time: 1, text: '', snippet: s });
  assert.deepEqual(body({ ...snippet, wholeLines: true }).snippet, { ...snippet, wholeLines: true });
  assert.deepEqual(body({ ...snippet, wholeLines: false }).snippet, { ...snippet, wholeLines: false });
  const old = body(snippet).snippet!;
  assert.equal('wholeLines' in old, false);
  for (const bad of ['true', 1, null, {}]) {
    assert.throws(() => body({ ...snippet, wholeLines: bad }), (e: unknown) => isCoded(e) && e.code === 'request.invalid', JSON.stringify(bad));
  }
});

test('an attached window\'s Share Selection and the thread frames to attached windows keep wholeLines', () => {
  const sent = windowToHostSchema.parse({ type: 'message/send', requestId: 1, key: 'R'.repeat(43), text: 'look', snippet: { ...snippet, wholeLines: true } });
  assert.equal(sent.type === 'message/send' && sent.snippet?.wholeLines, true);

  const frames: ThreadFrame[] = [];
  const m: TimelineMessage = { kind: 'message', id: ID, from: 'alice', text: 'look', sentAt: 1, mine: false, mentionsMe: false, snippet: { ...snippet, wholeLines: true } };
  new ThreadRelay((f) => frames.push(f)).message('R'.repeat(43), 'ops', m);
  // As the attached window reads it: JSON, then the frame schema, then its threads.
  const told: TimelineMessage[] = [];
  const sink = { message: (_k: string, _t: string, x: TimelineMessage) => told.push(x), updated() {}, forget() {}, clear() {} } satisfies ThreadSink;
  applyThreadFrame(threadFrameSchema.parse(JSON.parse(JSON.stringify(frames[0]))), sink);
  assert.deepEqual(told[0]?.snippet, { ...snippet, wholeLines: true });
});

test('the history store keeps wholeLines at rest, across a reopen', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-whole-lines-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const key = randomBytes(32);
  const row = (id: string, s: typeof snippet & { wholeLines?: boolean }) => ({ conversation: 'R'.repeat(43), id, from: 'alice', session: 'S1', seq: id.length, sentAt: 1000, text: '', snippet: s });
  let db = new StoreDb(join(dir, 'store.db'), key);
  new History(db).add(row('whole', { ...snippet, wholeLines: true }));
  new History(db).add(row('partial!', snippet));
  await db.committed();
  db.close();
  db = new StoreDb(join(dir, 'store.db'), key);
  t.after(() => db.close());
  const history = new History(db);
  assert.deepEqual(history.get('R'.repeat(43), 'whole')?.snippet, { ...snippet, wholeLines: true });
  assert.deepEqual(history.get('R'.repeat(43), 'partial!')?.snippet, snippet);
});
