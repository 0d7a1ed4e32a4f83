// Two `node peer` processes on one data folder never run two engines (peer/folder-lock.ts,
// peer/main.ts): the second exits at once with status 1, naming the first's pid (one JSON error
// line with --json, a sentence on stderr in the interactive mode), and leaves the first working;
// after the first is SIGKILLed, its stale socket is taken over and a new client resumes the
// session saved on that folder. Real processes: a spawned tracker, spawned clients.

import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { checkPeerBundle, PeerProcess, removeDataFolder, runPeer } from '../helpers/peer-process.ts';

const PASSWORD = 'plum kettle orbit 93 lantern';
/** A refusal is decided before any engine work: far below anything a running engine would take. */
const REFUSAL_MS = 10_000;

test('a second node peer on a data folder in use exits at once naming the first; a SIGKILLed first is taken over', async (t) => {
  checkPeerBundle();
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const trackerArg = `${tracker.host}:${tracker.port}`;
  const data = await mkdtemp(join(tmpdir(), 'cli-folder-lock-'));
  removeDataFolder(t, data);

  const first = new PeerProcess({ tracker: trackerArg, data, label: 'first' });
  t.after(() => first.stop());
  await first.ok({ cmd: 'register', user: 'lockholder', password: PASSWORD });
  await first.ok({ cmd: 'login', user: 'lockholder', password: PASSWORD });
  assert.ok(lstatSync(join(data, 'engine.sock')).isSocket());

  // --json: one JSON line, an error event with a declared code, naming the first's pid.
  const started = Date.now();
  const second = await runPeer(['--json', '--tracker', trackerArg, '--data', data], '{"id":1,"cmd":"list_rooms"}\n', REFUSAL_MS);
  assert.ok(Date.now() - started < REFUSAL_MS);
  assert.equal(second.code, 1, second.stderr);
  const lines = second.stdout.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, 1, `exactly one line, no engine event or answer: ${second.stdout}`);
  const error = JSON.parse(lines[0]) as { event: string; code: string; message: string };
  assert.equal(error.event, 'error');
  assert.equal(error.code, 'server.data_in_use');
  assert.match(error.message, new RegExp(`the data folder ${data} is in use by node peer \\(pid ${first.pid}, since \\d\\d:\\d\\d\\); use that client, or start this one with --data <another folder>`));

  // Interactive: the sentence on stderr, nothing else.
  const third = await runPeer(['--tracker', trackerArg, '--data', data], 'rooms\n', REFUSAL_MS);
  assert.equal(third.code, 1, third.stderr);
  assert.equal(third.stdout, '');
  assert.match(third.stderr, new RegExp(`^p2p-chat: the data folder ${data} is in use by node peer \\(pid ${first.pid}, since \\d\\d:\\d\\d\\)`));

  // The refused clients opened nothing (the message store is still the first's), and the first still works.
  assert.equal(readFileSync(join(data, 'store.db.owner'), 'utf8').trim(), String(first.pid));
  assert.equal((await first.ok({ cmd: 'list_rooms' })).ok, true);

  // SIGKILL: the socket file stays behind, refusing connections; the next client takes it over
  // and resumes the saved session (no password).
  await first.stop('SIGKILL');
  assert.ok(lstatSync(join(data, 'engine.sock')).isSocket(), 'a killed holder leaves its socket file');
  const next = new PeerProcess({ tracker: trackerArg, data, label: 'next' });
  t.after(() => next.stop());
  await next.waitEvent('ready');
  assert.equal((await next.ok({ cmd: 'list_rooms' })).ok, true);
  const refused = await runPeer(['--json', '--tracker', trackerArg, '--data', data], '', REFUSAL_MS);
  assert.equal(refused.code, 1);
  assert.match(refused.stdout, new RegExp(`"code":"server.data_in_use".*\\(pid ${next.pid}, since`));

  // A clean exit releases the folder: the socket file is gone.
  assert.equal(await next.stop(), 0);
  assert.equal(existsSync(join(data, 'engine.sock')), false);
});
