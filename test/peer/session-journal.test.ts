// SessionJournal on its own: a lone record is written at once (synchronously), several go through
// the thread pool; either way the lines are in the file, in order, when append resolves, also
// sealed under an at-rest key and across a compaction (which reopens the append descriptor).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { randomBytes } from '../../protocol/crypto.ts';
import { SessionJournal } from '../../peer/session-journal.ts';

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
