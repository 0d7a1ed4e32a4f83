// `node peer` interactive, driven by a script on stdin (not a TTY: every prompt is a plain line):
// a private room's password is asked for because join_room answered room.bad_password (a code,
// not a message), a wrong one is refused, and the typed results print as tables. --tracker goes
// through protocol/address.ts: port 0 is refused before anything starts.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { registered, waitFor } from '../helpers/engines.ts';
import { checkPeerBundle, runPeer } from '../helpers/peer-process.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

/** Passes peer/account.ts checkPasswordPolicy. */
const PASSWORD = 'plum kettle orbit 93 lantern';
const ROOM_PASSWORD = 'vault door 77 copper';
/** Registration and login run the real scrypt and key generation in the child. */
const EXIT_TIMEOUT_MS = 60_000;

test('--tracker refuses port 0 and malformed addresses with the reason and an example, exit 2', async () => {
  checkPeerBundle();
  const zero = await runPeer(['--tracker', '127.0.0.1:0'], '');
  assert.equal(zero.code, 2);
  assert.match(zero.stderr, /^error: --tracker: "127\.0\.0\.1:0" is not a tracker address: port 0 means "any free port".*for example 192\.168\.1\.20:12345/m);
  const v6 = await runPeer(['--tracker', '::1:4000'], '');
  assert.equal(v6.code, 2);
  assert.match(v6.stderr, /needs brackets, as in \[::1\]:12345/);
});

test('interactive: join_room asks for a private room password, refuses a wrong one, and prints members and rooms', { timeout: 180_000 }, async (t) => {
  checkPeerBundle();
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  // Real scrypt parameters, as `node peer` uses: the room password's key depends on them.
  const alice = await registered(t, tracker, 'alice', { scryptParams: undefined });
  await alice.createRoom('vault', { password: ROOM_PASSWORD });
  await alice.createRoom('lobby');
  const data = await mkdtemp(join(tmpdir(), 'p2p-cli-int-'));
  t.after(() => rm(data, { recursive: true, force: true }));

  const joined = waitFor(alice, 'member_joined', (e) => e.user === 'bob' && e.room === 'vault', EXIT_TIMEOUT_MS);
  const script = [
    'register bob', PASSWORD, PASSWORD, 'y',
    'join_room vault', 'not the room password',
    'join_room vault', ROOM_PASSWORD,
    'join_room lobby',
    'members vault',
    'list_rooms',
    'leave_room lobby',
    'kick vault',
    'exit', '',
  ].join('\n');
  const { code, stdout, stderr } = await runPeer(['--tracker', `${tracker.host}:${tracker.port}`, '--data', data], script);
  assert.equal(code, 0, stderr);
  assert.match(stdout, /^Logged in as bob; peers reach you on port \d+\.$/m);
  // Asked twice (once per join_room of the private room), never for the public one.
  assert.equal((stdout.match(/^Password of vault:$/gm) ?? []).length, 2, stdout);
  assert.doesNotMatch(stdout, /Password of lobby/);
  assert.match(stdout, /^error: wrong password for (room )?vault$/m);
  assert.match(stdout, /^Joined vault; members: alice, bob\.$/m);
  assert.match(stdout, /^Joined lobby; members: alice, bob\.$/m);
  assert.match(stdout, /^vault:\n {4}alice +owner +online +key \S+ \S+ \S+ \S+\.\.\. +not verified\n {4}bob +online/m);
  assert.match(stdout, /^ {2}lobby +public +owner alice +2 members, 2 online +\(joined\)$/m);
  assert.match(stdout, /^ {2}vault +private +owner alice +2 members, 2 online +\(joined\)$/m);
  assert.match(stdout, /^Left lobby\.$/m);
  // A missing argument is answered with the command's usage from the COMMANDS table.
  assert.match(stdout, /^error: usage: kick ROOM USER$/m);
  await joined;
});
