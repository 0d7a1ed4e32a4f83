// SessionJournal on its own: a lone record is written at once (synchronously), several go through
// the thread pool; either way the lines are in the file, in order, when append resolves, also
// sealed under an at-rest key and across a compaction (which reopens the append descriptor).

import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { randomBytes } from '../../protocol/crypto.ts';
import { PREALLOCATE_BYTES, SessionJournal } from '../../peer/session-journal.ts';

function journalIn(t: TestContext, key?: Buffer): SessionJournal {
  const dir = mkdtempSync(join(tmpdir(), 'p2p-journal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const journal = new SessionJournal(join(dir, 'account', 'sessions.jsonl'), key);
  t.after(() => journal.close());
  return journal;
}

for (const sealed of [false, true]) {
  test(`lone and batched appends are on disk, in order, when they resolve${sealed ? ' (sealed at rest)' : ''}`, async (t) => {
    const key = sealed ? randomBytes(32) : undefined;
    const journal = journalIn(t, key);
    const seen: number[] = [];
    const expect = async (records: { n: number }[]) => {
      await journal.append(records);
      seen.push(...records.map((r) => r.n));
      // What a crash right now would leave: the file as it is, read by a new journal.
      assert.deepEqual(new SessionJournal(journal.path, key).read().map((r) => r.n), seen);
    };
    await expect([{ n: 1 }]);
    await expect([{ n: 2 }, { n: 3 }, { n: 4 }]);
    await expect([{ n: 5 }]);
    journal.compact([{ n: 0 }]);
    seen.splice(0, seen.length, 0);
    await expect([{ n: 6 }]);
    await expect([{ n: 7 }, { n: 8 }]);
    assert.equal(readFileSync(journal.path, 'utf8').split('\n').length - 1, 4, 'one line a record, after the compacted one');
    if (sealed) assert.doesNotMatch(readFileSync(journal.path, 'utf8'), /"n"/, 'no record in the clear');
  });
}

test('records are written over zeros the file already holds: its size stays put from one append to the next (a sync with no inode change)', async (t) => {
  const journal = journalIn(t);
  journal.compact([{ n: 0 }]);
  await journal.append([{ n: 1 }]);
  const size = statSync(journal.path).size;
  assert.ok(size >= PREALLOCATE_BYTES, `preallocated: ${size} bytes`);
  const seen = [0, 1];
  for (let n = 2; n <= 40; n++) {
    await journal.append(n % 2 ? [{ n }] : [{ n, pad: 'x'.repeat(100) }, { n: -n }]);
    seen.push(...(n % 2 ? [n] : [n, -n]));
    assert.equal(statSync(journal.path).size, size, `append ${n} changed the file's size`);
  }
  assert.deepEqual(new SessionJournal(journal.path).read().map((r) => r.n), seen);
  // Past the preallocated stretch the file grows again, by another stretch at once.
  const big = 'y'.repeat(PREALLOCATE_BYTES);
  await journal.append([{ n: 41, big }]);
  assert.ok(statSync(journal.path).size >= size + PREALLOCATE_BYTES);
  assert.deepEqual(new SessionJournal(journal.path).read().map((r) => r.n), [...seen, 41]);
});

test('opened again without a compaction, records go after the last complete line: over a torn one, leaving none of it', async (t) => {
  const journal = journalIn(t);
  await journal.append([{ n: 1 }]);
  await journal.append([{ n: 2 }]);
  await journal.close();
  // A crash mid-write: part of a long line where the content ends (before the zeros, if any).
  const file = readFileSync(journal.path);
  const end = file.indexOf(0) < 0 ? file.length : file.indexOf(0);
  const torn = Buffer.from(`{"n":3}\n{"n":4,"pad":"${'z'.repeat(200)}`);
  const fd = openSync(journal.path, 'r+');
  writeSync(fd, torn, 0, torn.length, end);
  closeSync(fd);
  const again = new SessionJournal(journal.path);
  t.after(() => again.close());
  assert.deepEqual(again.read().map((r) => r.n), [1, 2, 3], 'the torn line is not read');
  await again.append([{ n: 5 }]);
  assert.deepEqual(new SessionJournal(journal.path).read().map((r) => r.n), [1, 2, 3, 5], 'nothing of the torn line is left after the new record');
});
