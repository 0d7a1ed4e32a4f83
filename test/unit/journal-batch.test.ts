// The session journal's write side on its own (peer/journal-batch.ts), on a real journal file:
// one turn's changes are one append, what waits runs only once they are on disk, a failed write
// runs nothing that waited and keeps its changes for the next one.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { JournalBatch } from '../../peer/journal-batch.ts';
import { SessionJournal } from '../../peer/session-journal.ts';

function folder(t: { after(fn: () => unknown): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'p2p-journal-batch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('changes of one turn are one append; a later change of the same thing replaces the earlier one; what waits runs after the write', async (t) => {
  const journal = new SessionJournal(join(folder(t), 'sessions.jsonl'));
  let appends = 0;
  const append = journal.append.bind(journal);
  journal.append = (records) => ((appends += 1), append(records));
  const order: string[] = [];
  const batch = new JournalBatch(journal, () => [], (err) => assert.fail(err), false);
  batch.beforeWrite = () => order.push('store committed');
  batch.set('in a', () => ({ t: 'in', v: 1 }));
  batch.set('in b', () => ({ t: 'in', v: 2 }));
  batch.set('in a', () => ({ t: 'in', v: 3 }));
  const shown = new Promise<void>((resolve) => batch.afterDurable(() => (order.push('shown'), resolve())));
  assert.equal(batch.waitingForDisk, 1);
  assert.deepEqual(journal.read(), [], 'nothing is written within the turn');
  await shown;
  assert.equal(appends, 1);
  assert.deepEqual(journal.read(), [{ t: 'in', v: 3 }, { t: 'in', v: 2 }]);
  assert.deepEqual(order, ['store committed', 'shown']);
  await batch.close();
});

test('a change deleted before the write is not written', async (t) => {
  const journal = new SessionJournal(join(folder(t), 'sessions.jsonl'));
  const batch = new JournalBatch(journal, () => [], (err) => assert.fail(err), false);
  batch.set('in a', () => ({ t: 'in', v: 1 }));
  batch.delete('in a');
  batch.set('gone a', () => ({ t: 'gone' }));
  await batch.nextWrite();
  assert.deepEqual(journal.read(), [{ t: 'gone' }]);
  await batch.close();
});

test('a failed write shows nothing that waited, says why, resolves nextWrite, and keeps its changes for the next write', async (t) => {
  const dir = folder(t);
  // The journal's folder is a file: opening the journal fails (ENOTDIR) until it becomes a folder.
  writeFileSync(join(dir, 'acct'), 'not a folder');
  const journal = new SessionJournal(join(dir, 'acct', 'sessions.jsonl'));
  const errors: string[] = [];
  const batch = new JournalBatch(journal, () => [], (err) => errors.push(err.message), false);
  let shown = 0;
  batch.set('in a', () => ({ t: 'in', v: 1 }));
  batch.afterDurable(() => (shown += 1));
  await batch.nextWrite();
  assert.equal(shown, 0);
  assert.equal(errors.length, 1);
  assert.match(errors[0], /could not record received messages on disk .*1 message\(s\) were not shown/);
  rmSync(join(dir, 'acct'));
  mkdirSync(join(dir, 'acct'));
  batch.set('in b', () => ({ t: 'in', v: 2 }));
  await batch.nextWrite();
  assert.deepEqual(journal.read(), [{ t: 'in', v: 1 }, { t: 'in', v: 2 }], 'the failed write\'s change went with the next');
  await batch.close();
});

test('a failing store commit fails the write like a disk error', async (t) => {
  const journal = new SessionJournal(join(folder(t), 'sessions.jsonl'));
  const errors: string[] = [];
  const batch = new JournalBatch(journal, () => [], (err) => errors.push(err.message), false);
  batch.beforeWrite = () => {
    throw new Error('disk full');
  };
  let shown = false;
  batch.set('in a', () => ({ t: 'in', v: 1 }));
  batch.afterDurable(() => (shown = true));
  await batch.nextWrite();
  assert.equal(shown, false);
  assert.deepEqual(journal.read(), [], 'no record that a key was used for a message not in history');
  assert.match(errors[0], /disk full/);
});

test('read-only: nothing is written and nextWrite resolves at once', async (t) => {
  const journal = new SessionJournal(join(folder(t), 'sessions.jsonl'));
  const batch = new JournalBatch(journal, () => [], (err) => assert.fail(err), true);
  batch.set('in a', () => ({ t: 'in', v: 1 }));
  await batch.nextWrite();
  assert.deepEqual(journal.read(), []);
});
