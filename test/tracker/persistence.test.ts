// Nothing is lost when the tracker restarts (DESIGN.md "Tracker": "Survives restarts with nothing
// lost"): SIGTERM, exit 0, start again on the same folder, and users, salts, key blobs, resume
// tokens, rooms with their signed logs and private-room checks, and the certificate are all
// still there. The private files (certificate key, tracker.secret) are mode 0600.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toBase64Url } from '../../protocol/crypto.ts';
import { decryptKeyBlob, keysMatchIdentity } from '../../peer/account.ts';
import { loginUser, registerAndLogin, registerUser } from '../helpers/accounts.ts';
import { expectCode, nextEvent } from '../helpers/events.ts';
import { FAST_TRACKER_ARGS, restartTracker, startTracker } from '../helpers/tracker-process.ts';
import { FAST, connectFor, createRoom, nextRoomEvent, runTrackerCli } from '../helpers/tracker-accounts-extra.ts';

const mode = (path: string) => statSync(path).mode & 0o777;

test('users, salts, key blobs, tokens, rooms and their logs, and the certificate survive a restart', async (t) => {
  const first = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const a1 = await connectFor(t, first);
  const b1 = await connectFor(t, first);
  const alice = await registerAndLogin(a1, 'alice', { ...FAST, peerPort: 7001 });
  const bob = await registerAndLogin(b1, 'bob', { ...FAST, peerPort: 7002 });
  const carol = await registerUser(await connectFor(t, first), 'carol', FAST);

  // A public room with bob's join, and a private one bob joined with the password.
  const lobby = await createRoom(a1, alice, 'lobby');
  const lobbyJoined = (await b1.request('append', { event: nextRoomEvent(lobby.room, bob, 'join') })).room;
  const vault = await createRoom(a1, alice, 'vault', { password: 'the vault room password' });
  const vaultJoined = (
    await b1.request('append', { event: nextRoomEvent(vault.room, bob, 'join', { proofKey: vault.proofKey }), check: vault.check })
  ).room;
  assert.equal(lobbyJoined.members, 2);
  assert.equal(vaultJoined.members, 2);

  const before = {
    salts: await Promise.all(['alice', 'bob', 'carol', 'nobody'].map(async (user) => (await a1.request('prelogin', { user })).salt)),
    rooms: (await a1.request('list_rooms', {})).rooms.map((r) => ({ ...r, online: 0 })),
    lobbyLog: (await a1.request('room_log', { room: lobby.room.id, from: 0 })).events,
    vaultLog: (await a1.request('room_log', { room: vault.room.id, from: 0 })).events,
    keys: (await a1.request('get_keys', { users: ['alice', 'bob', 'carol'] })).keys,
    cert: readFileSync(join(first.dir, 'tracker-cert.pem'), 'utf8'),
    secret: readFileSync(join(first.dir, 'tracker.secret')),
  };
  assert.equal(before.lobbyLog.length, 2);
  assert.equal(before.vaultLog.length, 2);

  // SIGTERM: a clean stop, exit code 0, and the clients hear why.
  const shutdown = nextEvent(a1, 'closing');
  assert.equal(await first.stop('SIGTERM'), 0);
  assert.equal((await shutdown).code, 'server.shutdown');
  assert.match(first.output(), /^stopped$/m);

  const second = await restartTracker(t, first, { args: [...FAST_TRACKER_ARGS] });
  assert.equal(second.fingerprint, first.fingerprint, 'the same certificate, so pinned clients reconnect');
  assert.match(second.output(), /certificate loaded/);
  assert.equal(readFileSync(join(second.dir, 'tracker-cert.pem'), 'utf8'), before.cert);
  assert.deepEqual(readFileSync(join(second.dir, 'tracker.secret')), before.secret, 'the secret is kept, never regenerated');

  // A resume token from before the restart works without the password, and the blob still opens.
  const a2 = await connectFor(t, second);
  const resumed = await a2.request('resume', { token: alice.token, peerPort: 7001 });
  assert.equal(resumed.user, 'alice');
  assert.ok(keysMatchIdentity(decryptKeyBlob(alice.keys.keyKey, 'alice', resumed.keyBlob), resumed.identity));
  // Presence is soft state: after the restart only who came back is online.
  assert.deepEqual(resumed.peers.map((p) => p.user), ['alice']);
  assert.deepEqual(
    resumed.rooms.map((r) => r.name).sort(),
    ['lobby', 'vault'],
  );

  // Salts (the fake one too), public keys, rooms and logs are as they were.
  for (const [i, user] of ['alice', 'bob', 'carol', 'nobody'].entries()) {
    assert.equal((await a2.request('prelogin', { user })).salt, before.salts[i], `salt of ${user}`);
  }
  assert.deepEqual((await a2.request('get_keys', { users: ['alice', 'bob', 'carol'] })).keys, before.keys);
  assert.deepEqual((await a2.request('list_rooms', {})).rooms.map((r) => ({ ...r, online: 0 })), before.rooms);
  assert.deepEqual((await a2.request('room_log', { room: lobby.room.id, from: 0 })).events, before.lobbyLog);
  assert.deepEqual((await a2.request('room_log', { room: vault.room.id, from: 0 })).events, before.vaultLog);

  // bob logs in with his password (bcrypt hash and wrapped blob survived) and leaves the lobby.
  const b2 = await connectFor(t, second);
  const bobAgain = await loginUser(b2, 'bob', FAST);
  assert.equal(bobAgain.keyBlob, bob.keyBlob);
  const seen = nextEvent(a2, 'room_event', (e) => e.room.id === lobby.room.id);
  const left = (await b2.request('append', { event: nextRoomEvent(lobbyJoined, bob, 'leave') })).room;
  assert.deepEqual(left.head.seq, 2);
  assert.equal((await seen).entry.type, 'leave');

  // carol joins the private room: the stored check still refuses a wrong one and takes the right one.
  const c2 = await connectFor(t, second);
  await loginUser(c2, 'carol', FAST);
  const carolJoin = nextRoomEvent(vaultJoined, carol, 'join', { proofKey: vault.proofKey });
  await expectCode(c2.request('append', { event: carolJoin, check: toBase64Url(Buffer.alloc(32, 7)) }), 'room.bad_password');
  const joined = (await c2.request('append', { event: carolJoin, check: vault.check })).room;
  assert.equal(joined.members, 3);
  assert.equal((await c2.request('room_log', { room: vault.room.id, from: 0 })).events.length, 3);
});

test('the certificate key and tracker.secret are mode 0600, whatever the umask', async (t) => {
  const old = process.umask(0);
  let tracker;
  try {
    tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  } finally {
    process.umask(old);
  }
  assert.equal(mode(join(tracker.dir, 'tracker-key.pem')).toString(8), '600');
  assert.equal(mode(join(tracker.dir, 'tracker.secret')).toString(8), '600');
  // The certificate is public: only the private files are locked down (here, with umask 0).
  assert.equal(mode(join(tracker.dir, 'tracker-cert.pem')) & 0o044, 0o044);
  assert.match(readFileSync(join(tracker.dir, 'tracker-key.pem'), 'utf8'), /PRIVATE KEY/);
  // The modes hold across a restart (loaded files are not rewritten).
  const again = await restartTracker(t, tracker, { args: [...FAST_TRACKER_ARGS] });
  assert.equal(again.fingerprint, tracker.fingerprint);
  assert.equal(mode(join(again.dir, 'tracker-key.pem')).toString(8), '600');
  assert.equal(mode(join(again.dir, 'tracker.secret')).toString(8), '600');
});

test('half a certificate pair is refused with a message, and the private key is never overwritten', async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  assert.equal(await tracker.stop(), 0);
  const keyPath = join(tracker.dir, 'tracker-key.pem');
  const certPath = join(tracker.dir, 'tracker-cert.pem');
  const key = readFileSync(keyPath);
  const cert = readFileSync(certPath);
  const args = ['--host', '127.0.0.1', '--port', '0', '--db', tracker.dbPath, ...FAST_TRACKER_ARGS];

  rmSync(certPath);
  const noCert = await runTrackerCli(args);
  assert.equal(noCert.code, 1);
  assert.match(noCert.stderr, /^error: .*tracker-key\.pem exists but .*tracker-cert\.pem does not/m);
  assert.doesNotMatch(noCert.stderr, /^\s+at /m, 'a message, not a stack trace');
  assert.deepEqual(readFileSync(keyPath), key, 'the private key is untouched');

  // With the pair whole again, the tracker starts with the same fingerprint.
  writeFileSync(certPath, cert);
  const again = await startTracker(t, { dir: tracker.dir, args: [...FAST_TRACKER_ARGS] });
  assert.equal(again.fingerprint, tracker.fingerprint);
});
