// The room log files (peer/room-log-store.ts): a room event costs one appended line whatever the
// log's length (issue 7: state.json was rewritten whole on every room event), torn and damaged
// files are told apart, sealed lines are bound to their room.
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { randomBytes } from '../../protocol/crypto.ts';
import type { RoomEvent } from '../../protocol/room-log.ts';
import { RoomLogStore } from '../../peer/room-log-store.ts';

async function folder(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-rooms-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** An event of the size a real join is (~500 bytes: signature, hashes); the store does not verify. */
function event(room: string, seq: number): RoomEvent {
  return { v: 1, room, seq, prev: 'p'.repeat(43), type: seq % 2 ? 'join' : 'leave', actor: 'mallory', time: 1_700_000_000_000 + seq, sig: 's'.repeat(342) } as RoomEvent;
}

for (const sealed of [false, true]) {
  test(`bytes written per room event do not grow with the log (${sealed ? 'sealed' : 'plain'})`, async (t) => {
    const dir = await folder(t);
    const key = sealed ? randomBytes(32) : undefined;
    const store = new RoomLogStore(dir, key);
    const room = 'R'.repeat(43);
    const costs: number[] = [];
    for (let seq = 0; seq < 2000; seq++) {
      const before = store.bytesWritten;
      store.append(room, [event(room, seq)]);
      store.flush();
      costs.push(store.bytesWritten - before);
    }
    const early = costs.slice(0, 10).reduce((a, b) => a + b) / 10;
    const late = costs.slice(-10).reduce((a, b) => a + b) / 10;
    t.diagnostic(`bytes per event: first 10 ${early.toFixed(0)}, last 10 ${late.toFixed(0)}; file ${statSync(store.pathOf(room)).size} bytes`);
    assert.ok(late <= early * 1.05, `an event at seq 2000 costs ${late} bytes, at seq 0 ${early}`);
    assert.equal(statSync(store.pathOf(room)).size, store.bytesWritten, 'only appends: every byte written is in the file once');
    const read = new RoomLogStore(dir, key).read(room);
    assert.equal(read.status, 'ok');
    assert.equal(read.events.length, 2000);
    assert.deepEqual(read.events[1999], event(room, 1999));
  });
}

test('appends in one turn are one write; the file is named by the hash of the id, never the id', async (t) => {
  const dir = await folder(t);
  const store = new RoomLogStore(dir);
  const room = '../../etc/passwd';
  for (let seq = 0; seq < 50; seq++) store.append(room, [event(room, seq)]);
  assert.deepEqual(readdirSync(dir), [], 'nothing written before the end of the turn');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(readdirSync(dir), [store.pathOf(room).slice(dir.length + 1)]);
  assert.match(readdirSync(dir)[0], /^[0-9a-f]{64}\.jsonl$/);
  assert.equal(store.read(room).events.length, 50);
});

test('a torn last line is left out; a damaged line before it makes the file damaged, by name', async (t) => {
  const dir = await folder(t);
  const store = new RoomLogStore(dir);
  const room = 'R'.repeat(43);
  for (let seq = 0; seq < 3; seq++) store.append(room, [event(room, seq)]);
  store.flush();
  const path = store.pathOf(room);
  appendFileSync(path, '{"v":1,"room":"RRR');
  const torn = store.read(room);
  assert.equal(torn.status, 'torn');
  assert.equal(torn.events.length, 3);
  store.replace(room, torn.events);
  assert.equal(store.read(room).status, 'ok');
  assert.equal(readFileSync(path, 'utf8').split('\n').length, 4, 'rewritten without the torn line');

  const lines = readFileSync(path, 'utf8').split('\n');
  lines[1] = lines[1].slice(0, 20);
  writeFileSync(path, lines.join('\n'));
  const damaged = store.read(room);
  assert.equal(damaged.status, 'damaged');
  assert.ok(damaged.error!.includes(path) && damaged.error!.includes('line 2'), damaged.error);
  const aside = store.quarantine(room);
  assert.equal(store.read(room).status, 'missing');
  assert.ok(statSync(aside).isFile());
});

test('sealed lines open only under their key and for their room', async (t) => {
  const dir = await folder(t);
  const key = randomBytes(32);
  const store = new RoomLogStore(dir, key);
  const a = 'A'.repeat(43);
  const b = 'B'.repeat(43);
  store.append(a, [event(a, 0)]);
  store.flush();
  assert.ok(!readFileSync(store.pathOf(a), 'utf8').includes('mallory'), 'nothing readable at rest');
  assert.equal(new RoomLogStore(dir, randomBytes(32)).read(a).status, 'damaged');
  writeFileSync(store.pathOf(b), readFileSync(store.pathOf(a)));
  assert.equal(store.read(b).status, 'damaged', "a's line moved into b's file does not open");
});

test('remove drops what is queued; tidy removes files of rooms not in the index and stale temps', async (t) => {
  const dir = await folder(t);
  const store = new RoomLogStore(dir);
  const keep = 'K'.repeat(43);
  const gone = 'G'.repeat(43);
  store.append(keep, [event(keep, 0)]);
  store.append(gone, [event(gone, 0)]);
  store.flush();
  store.append(gone, [event(gone, 1)]);
  store.remove(gone);
  store.flush();
  assert.equal(store.read(gone).status, 'missing', 'the queued line did not bring the file back');
  store.append(gone, [event(gone, 0)]);
  store.flush();
  const orphan = store.pathOf(gone).slice(dir.length + 1);
  writeFileSync(join(dir, `${orphan}.replace.json.999999999.tmp`), 'x');
  assert.deepEqual(store.tidy([keep]), [orphan]);
  assert.deepEqual(readdirSync(dir), [store.pathOf(keep).slice(dir.length + 1)]);
});
