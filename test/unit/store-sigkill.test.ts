// A SIGKILL at any moment loses nothing that was committed and never damages the store
// (peer/store-db.ts: rollback journal, stale lock folder of a dead process cleared at open). A real
// child process (test/helpers/store-writer.ts) appends in bursts and prints each id after its
// commit; it is killed 20 times at random points, and after each kill the store is reopened here.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { randomBytes } from '../../protocol/crypto.ts';
import { History } from '../../peer/history.ts';
import { StoreDb } from '../../peer/store-db.ts';

const WRITER = join(import.meta.dirname, '..', 'helpers', 'store-writer.ts');
const CONVERSATION = 'K'.repeat(43);

/** Runs the writer until it has printed `lines` ids, SIGKILLs it, and returns every id it printed. */
async function writeUntilKilled(path: string, key: Buffer, first: number, lines: number): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, path, key.toString('hex'), String(first)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const printed: string[] = [];
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    printed.push(...parts);
    if (printed.length >= lines && child.exitCode === null) child.kill('SIGKILL');
  });
  const [code, signal] = await once(child, 'exit');
  assert.equal(signal, 'SIGKILL', `the writer exited by itself (code ${code})`);
  return printed;
}

test('20 SIGKILLs at random points: every id printed after its commit is there, and the store opens intact', { timeout: 60_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-sigkill-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'store.db');
  const key = randomBytes(32);
  const acknowledged = new Set<string>();
  let stored = 0;
  let hotJournals = 0;
  for (let round = 0; round < 20; round++) {
    const printed = await writeUntilKilled(path, key, round * 1_000_000, 1 + Math.floor(Math.random() * 150));
    for (const id of printed) acknowledged.add(id);
    // A non-empty journal: the kill landed inside a commit, and the reopen below rolls it back.
    if ((statSync(`${path}-journal`, { throwIfNoEntry: false })?.size ?? 0) > 0) hotJournals++;
    const db = new StoreDb(path, key); // clears the dead writer's lock, rolls back its journal
    try {
      assert.equal(String(db.get('PRAGMA integrity_check')!.integrity_check), 'ok', `round ${round}`);
      const history = new History(db);
      // Every row opens and checks (sealed body bound to its row), and every acknowledged id is one of them.
      const ids = new Set<string>();
      let before: string | undefined;
      for (;;) {
        const page = history.page(CONVERSATION, before === undefined ? { limit: 500 } : { before, limit: 500 });
        for (const m of page.messages) {
          assert.ok(m.text.startsWith(`message ${m.seq} `), m.id);
          ids.add(m.id);
        }
        if (!page.more) break;
        before = page.messages[0]!.id;
      }
      for (const id of acknowledged) assert.ok(ids.has(id), `round ${round}: ${id} was committed and is missing`);
      assert.ok(ids.size >= stored, 'nothing stored earlier went away');
      stored = ids.size;
    } finally {
      db.close();
    }
  }
  t.diagnostic(`${acknowledged.size} acknowledged ids over 20 kills, ${stored} stored; ${hotJournals} kills landed inside a commit (hot journal rolled back)`);
});
