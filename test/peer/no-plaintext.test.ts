// No plaintext at rest (DESIGN.md "Delivery, history, nothing lost": message text, snippets and
// held envelopes sealed per row; the mailbox keeps only what clients sealed). A tracker with
// `--mailbox` and three members with data folders exchange distinctive room messages, direct
// messages and snippets, some while a member is offline, so that every place a message can rest
// is used: history, the sender's outbox, the envelopes a member holds for another, the mailbox.
// Then every byte of every file under every data folder and the tracker's folder (recursively:
// SQLite side files, journals, state, room logs) is searched for each text and each snippet's code,
// as UTF-8, UTF-16LE, base64 and base64url (at any alignment). The engines here get no at-rest
// key, as the terminal client: their store is then sealed with `at-rest.key` beside it.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ClientEvents } from '../../protocol/client.ts';
import { PASSWORD, makeEngine, roomOf, waitFor, type TestEngine } from '../helpers/engines.ts';
import { queryDb } from '../helpers/tracker-accounts-extra.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

const EVENT_MS = 20_000;
const TAG = randomBytes(6).toString('hex');
/** A distinctive text: long enough that a match can only be the text itself. */
const secret = (what: string) => `canary ${what} ${TAG} zebra quartz lantern`;

/** The ways a text could be written to a file: its UTF-8 and UTF-16LE bytes, and base64/base64url of the UTF-8 at each of the three alignments. */
function encodings(text: string): { how: string; bytes: Buffer }[] {
  const utf8 = Buffer.from(text, 'utf8');
  const out = [
    { how: 'UTF-8', bytes: utf8 },
    { how: 'UTF-16LE', bytes: Buffer.from(text, 'utf16le') },
  ];
  for (const enc of ['base64', 'base64url'] as const) {
    for (let shift = 0; shift < 3; shift++) {
      // Only the characters that depend on the text's bytes alone: the first group (mixed with
      // what came before) and the last (mixed with what comes after) are dropped.
      const s = Buffer.concat([Buffer.alloc(shift), utf8]).toString(enc).replace(/=+$/, '');
      const start = shift === 0 ? 0 : 4;
      const end = Math.floor((shift + utf8.length) / 3) * 4;
      out.push({ how: `${enc} (alignment ${shift})`, bytes: Buffer.from(s.slice(start, end), 'ascii') });
    }
  }
  return out;
}

function filesUnder(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...filesUnder(path));
    else if (entry.isFile()) files.push(path);
  }
  return files;
}

/** Every (file, secret, encoding) where a secret's bytes are found in a file under `dirs`. */
function plaintextIn(dirs: string[], secrets: string[]): { files: string[]; found: string[] } {
  const needles = secrets.flatMap((s) => encodings(s).map((e) => ({ secret: s, ...e })));
  const files = dirs.flatMap(filesUnder);
  const found: string[] = [];
  for (const file of files) {
    const bytes = readFileSync(file);
    for (const n of needles) if (bytes.includes(n.bytes)) found.push(`${file}: "${n.secret}" as ${n.how}`);
  }
  return { files, found };
}

test('the search finds a text in each encoding it looks for (so the test below can fail)', () => {
  const text = secret('self-check');
  const json = Buffer.from(JSON.stringify({ t: 'x', text }), 'utf8');
  for (const pad of [0, 1, 2]) {
    const wrapped = Buffer.concat([Buffer.alloc(pad, 'a'), json]);
    for (const [enc, how] of [['base64', 'base64'], ['base64url', 'base64url']] as const) {
      const hay = Buffer.from(`prefix ${wrapped.toString(enc)} suffix`);
      assert.ok(encodings(text).some((e) => e.how.startsWith(how + ' ') && hay.includes(e.bytes)), `${how} with ${pad} bytes before`);
    }
  }
  assert.ok(encodings(text).some((e) => Buffer.from(`{"a":${JSON.stringify(text)}}`, 'utf16le').includes(e.bytes)), 'UTF-16LE');
  assert.ok(encodings(text).some((e) => Buffer.from(`x${text}y`).includes(e.bytes)), 'UTF-8');
});

test('no message text or snippet code in any data folder, the tracker\'s folder or its mailbox, in any encoding; the members have them all in history', { timeout: 120_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox'] });
  const { engines, id: room } = await roomOf(t, tracker, ['alice', 'bob', 'carol'], 'vault');
  const { alice, bob, carol } = engines;
  const folders = [alice.dataDir, bob.dataDir, carol.dataDir];
  const snippet = (what: string) => ({ language: 'typescript', path: 'src/secret.ts', startLine: 3, endLine: 4, code: `const key = "${secret(`${what} code`)}";\nexport default key;` });
  const shown = (engine: TestEngine, text: string): Promise<unknown> =>
    waitFor(engine, 'message', (m: ClientEvents['message']) => m.text === text, EVENT_MS).catch((err: Error) => {
      throw new Error(`${engine.user ?? engine.dataDir} did not show "${text}": ${err.message}`);
    });
  const texts: string[] = [];
  const codes: string[] = [];

  // 1. Everyone online: a room message, a direct message, a snippet in the room.
  const live = { room: secret('live room'), dm: secret('live dm'), snippetText: secret('live snippet text') };
  const liveSnippet = snippet('live snippet');
  let arrived: Promise<unknown> = Promise.all([shown(bob, live.room), shown(carol, live.room), shown(alice, live.dm), shown(alice, live.snippetText), shown(bob, live.snippetText)]);
  await alice.sendRoom(room, live.room);
  await bob.sendDirect('alice', live.dm);
  await carol.sendRoom(room, live.snippetText, liveSnippet);
  await arrived;
  texts.push(...Object.values(live));
  codes.push(liveSnippet.code);

  // 2. carol offline: alice's room message and DM to her wait in alice's outbox, bob holds the
  //    room message for her, and both go to the mailbox; bob's snippet likewise.
  const carolGone = Promise.all([waitFor(alice, 'presence', (p) => p.user === 'carol' && !p.online, EVENT_MS), waitFor(bob, 'presence', (p) => p.user === 'carol' && !p.online, EVENT_MS)]);
  await carol.close();
  await carolGone;
  const away = { room: secret('room while carol is away'), dm: secret('dm to carol while away'), snippetText: secret('snippet while carol is away') };
  const awaySnippet = snippet('snippet while carol is away');
  const waitingA = waitFor(alice, 'waiting', (w) => w.waitingFor.includes('carol'), EVENT_MS);
  arrived = Promise.all([shown(bob, away.room), shown(alice, away.snippetText)]);
  await alice.sendRoom(room, away.room);
  await alice.sendDirect('carol', away.dm);
  await bob.sendRoom(room, away.snippetText, awaySnippet);
  await arrived;
  await waitingA;
  assert.ok((await alice.outbox()).pending.some((p) => p.waitingFor.includes('carol')), 'alice\'s outbox holds what waits for carol');
  texts.push(...Object.values(away));
  codes.push(awaySnippet.code);
  // Shutdown lets the deposits finish; then only the mailbox has carol's messages.
  await alice.close();
  await bob.close();

  // 3. carol back alone: she gets them from the mailbox. Then she writes to alice and bob, both
  //    offline: those stay in her outbox and in the mailbox, where the search below finds their bytes.
  const carol2 = await makeEngine(t, tracker, { dataDir: carol.dataDir });
  arrived = Promise.all([shown(carol2, away.room), shown(carol2, away.dm), shown(carol2, away.snippetText)]);
  await carol2.login('carol', PASSWORD);
  await arrived;
  const left = { room: secret('carol to the room, nobody there'), dm: secret('carol to bob, offline') };
  const leftSnippet = snippet('carol snippet to alice, offline');
  const waitingC = waitFor(carol2, 'waiting', (w) => w.waitingFor.length > 0, EVENT_MS);
  await carol2.sendRoom(room, left.room);
  await carol2.sendDirect('bob', left.dm);
  await carol2.sendRoom('dm:alice:carol', secret('carol snippet dm text'), leftSnippet);
  await waitingC;
  texts.push(...Object.values(left), secret('carol snippet dm text'));
  codes.push(leftSnippet.code);
  await carol2.close();
  const deposits = await queryDb<{ n: number }>(tracker.dbPath, "SELECT COUNT(*) AS n FROM mailbox WHERE depositor = 'carol'");
  assert.ok(deposits[0].n >= 3, `the mailbox holds carol's messages at rest (${deposits[0].n} items)`);

  // 4. Every file, while the tracker still runs (its -wal and -shm too), then after it stopped.
  const secrets = [...texts, ...codes];
  const running = plaintextIn([...folders, tracker.dir], secrets);
  assert.ok(running.files.some((f) => f.endsWith('store.db')) && running.files.some((f) => f.endsWith('at-rest.key')), `the data folders hold the sealed store and its key: ${running.files.join(', ')}`);
  assert.ok(running.files.some((f) => f.endsWith('tracker.db')), 'the tracker\'s database is searched');
  assert.deepEqual(running.found, [], 'no plaintext at rest while the tracker runs');
  await tracker.stop();
  const stopped = plaintextIn([...folders, tracker.dir], secrets);
  assert.deepEqual(stopped.found, [], 'no plaintext at rest after everything closed');
  t.diagnostic(`searched ${stopped.files.length} files for ${secrets.length} secrets in ${encodings(secrets[0]).length} encodings each`);

  // 5. The texts are really there: opened again, each member's history shows every one of them.
  //    alice and bob take carol's last messages from the mailbox as they sign in (both of bob's:
  //    a second deposit to one member made just before exit is waited for at shutdown).
  const tracker2 = await startTracker(t, { dir: tracker.dir, args: [...FAST_TRACKER_ARGS, '--mailbox'] });
  const reopened: Record<string, TestEngine> = {};
  const reopen = async (user: 'alice' | 'bob' | 'carol', dataDir: string, expect: string[]) => {
    const e = await makeEngine(t, tracker2, { dataDir });
    const arriving = Promise.all(expect.map((text) => shown(e, text)));
    await e.login(user, PASSWORD);
    await arriving;
    reopened[user] = e;
  };
  await reopen('alice', alice.dataDir, [left.room, secret('carol snippet dm text')]);
  await reopen('bob', bob.dataDir, [left.room, left.dm]);
  await reopen('carol', carol.dataDir, []);
  const histories: Record<string, { texts: string[]; codes: string[] }> = {};
  for (const user of ['alice', 'bob', 'carol']) {
    const all = { texts: [] as string[], codes: [] as string[] };
    for (const target of [{ room }, ...['alice', 'bob', 'carol'].filter((u) => u !== user).map((u) => ({ user: u }))]) {
      const page = await reopened[user].history(target, { limit: 500 });
      all.texts.push(...page.messages.map((m) => m.text));
      all.codes.push(...page.messages.flatMap((m) => (m.snippet ? [m.snippet.code] : [])));
    }
    histories[user] = all;
  }
  const has = (user: string, list: string[], kind: 'texts' | 'codes') => assert.deepEqual(list.filter((s) => !histories[user][kind].includes(s)), [], `${user}'s history shows these ${kind}`);
  has('alice', [live.room, live.dm, live.snippetText, away.room, away.dm, away.snippetText, left.room, secret('carol snippet dm text')], 'texts');
  has('bob', [live.room, live.dm, live.snippetText, away.room, away.snippetText, left.room, left.dm], 'texts');
  has('carol', [live.room, live.snippetText, away.room, away.dm, away.snippetText, left.room, left.dm, secret('carol snippet dm text')], 'texts');
  has('alice', [liveSnippet.code, awaySnippet.code, leftSnippet.code], 'codes');
  has('bob', [liveSnippet.code, awaySnippet.code], 'codes');
  has('carol', [liveSnippet.code, awaySnippet.code, leftSnippet.code], 'codes');
});
