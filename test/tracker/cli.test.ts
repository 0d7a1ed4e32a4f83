// `node tracker` as a command (tracker/config.ts, admin.ts, main.ts): --help lists every flag,
// bad flags are refused with a message and a non-zero exit, the admin commands work on the
// database of a running tracker, SIGINT and SIGTERM stop it cleanly, and every flag has an
// environment variable (the stored bcrypt hash shows which cost was used).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIdentityKeys, encryptKeyBlob } from '../../peer/account.ts';
import { fingerprint, fromBase64Url, toBase64Url } from '../../protocol/crypto.ts';
import { FAST_SCRYPT_PARAMS, cachedAccountKeys, loginUser, registerAndLogin, registerUser, testSalt } from '../helpers/accounts.ts';
import { expectCode, nextEvent } from '../helpers/events.ts';
import { FAST_TRACKER_ARGS, REPO_ROOT, restartTracker, startTracker } from '../helpers/tracker-process.ts';
import { FAST, connectFor, createRoom, queryDb, runTrackerCli } from '../helpers/tracker-accounts-extra.ts';

/** Every flag config.ts declares, read from its FLAGS table, so a new flag without help fails here. */
function declaredFlags(): string[] {
  const source = readFileSync(join(REPO_ROOT, 'tracker/config.ts'), 'utf8');
  const table = /const FLAGS = \{([\s\S]*?)\n\} as const;/.exec(source);
  assert.ok(table, 'the FLAGS table of tracker/config.ts');
  return [...table[1].matchAll(/^\s*'?([a-z-]+)'?: \{/gm)].map((m) => m[1]);
}

const EXPECTED_FLAGS = [
  'host',
  'port',
  'db',
  'cert',
  'key',
  'bcrypt-cost',
  'heartbeat-timeout',
  'auth-timeout',
  'max-conns-per-address',
  'max-conns-per-user',
  'max-pending-conns',
  'max-queue-bytes',
  'slow-consumer-timeout',
  'failed-logins-per-user',
  'failed-login-delay',
  'failed-login-max-delay',
  'registrations-per-address',
  'page-size',
  'max-rooms-per-user',
  'max-joins-per-user',
  'room-events-per-user',
  'room-joins-per-day',
  'max-room-log',
  'mailbox',
  'mailbox-max-items-per-user',
  'mailbox-max-bytes-per-user',
  'mailbox-max-age',
  'force',
  'help',
];

async function tempDir(t: { after(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'p2p-chat-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function storedHash(dbPath: string, user: string): Promise<string> {
  const [row] = await queryDb<{ auth_hash: string }>(dbPath, 'SELECT auth_hash FROM users WHERE name = ?', user);
  assert.ok(row, `a users row for ${user}`);
  return row.auth_hash;
}

describe('flags', () => {
  test('--help exits 0 and lists every flag and command, touching no file', async (t) => {
    const dir = await tempDir(t);
    const flags = declaredFlags();
    assert.deepEqual([...flags].sort(), [...EXPECTED_FLAGS].sort());
    for (const args of [['--help'], ['-h']]) {
      const db = join(dir, 'tracker.db');
      const res = await runTrackerCli([...args, '--db', db]);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stderr, '');
      for (const flag of flags) assert.match(res.stdout, new RegExp(`--${flag}\\b`), `--help mentions --${flag}`);
      assert.match(res.stdout, /-h, --help/);
      assert.match(res.stdout, /users \[list \| delete NAME \[--force\] \| revoke NAME\]/);
      assert.match(res.stdout, /rooms \[list \| delete NAME\]/);
      assert.match(res.stdout, /P2P_TRACKER_/);
      assert.equal(existsSync(db), false, '--help opens no database');
    }
  });

  test('--bcrypt-cost below 10 is refused with a message and a non-zero exit, by flag or environment', async (t) => {
    const dir = await tempDir(t);
    const base = ['--host', '127.0.0.1', '--port', '0', '--db', join(dir, 'tracker.db')];
    for (const [args, env] of [
      [['--bcrypt-cost', '9'], {}],
      [['--bcrypt-cost=4'], {}],
      [[], { P2P_TRACKER_BCRYPT_COST: '9' }],
    ] as const) {
      const res = await runTrackerCli([...base, ...args], { env });
      assert.notEqual(res.code, 0);
      assert.match(res.stderr, /^error: --bcrypt-cost must be at least 10/m);
      assert.doesNotMatch(res.stdout, /ready/);
    }
    const junk = await runTrackerCli([...base, '--bcrypt-cost', 'twelve']);
    assert.notEqual(junk.code, 0);
    assert.match(junk.stderr, /--bcrypt-cost must be a whole number/);
    assert.equal(existsSync(join(dir, 'tracker.db')), false, 'a refused command line creates no database');
  });

  test('an unknown flag or command is refused, pointing at --help', async (t) => {
    const dir = await tempDir(t);
    const base = ['--host', '127.0.0.1', '--port', '0', '--db', join(dir, 'tracker.db')];
    const flag = await runTrackerCli([...base, '--no-such-flag']);
    assert.notEqual(flag.code, 0);
    assert.match(flag.stderr, /no-such-flag/);
    assert.match(flag.stderr, /node tracker --help/);
    const command = await runTrackerCli([...base, 'frobnicate']);
    assert.notEqual(command.code, 0);
    assert.match(command.stderr, /unknown command "frobnicate"/);
    const value = await runTrackerCli([...base, '--port', 'eighty']);
    assert.notEqual(value.code, 0);
    assert.match(value.stderr, /--port must be a whole number/);
  });
});

describe('admin commands', () => {
  test('users list, revoke and delete, with --db, on the database of a running tracker', async (t) => {
    const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
    const a = await connectFor(t, tracker);
    const b = await connectFor(t, tracker);
    const alice = await registerAndLogin(a, 'alice', FAST);
    const bob = await registerAndLogin(b, 'bob', FAST);
    const users = (...args: string[]) => runTrackerCli(['users', ...args, '--db', tracker.dbPath]);

    const list = await users('list');
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split('\n');
    assert.equal(lines.length, 2, list.stdout);
    assert.match(lines[0], new RegExp(`^alice\\s+${alice.session.peers.find((p) => p.user === 'alice')!.fingerprint} +sessions=1 `));
    assert.match(lines[1], /^bob\s+[0-9A-F ]+ sessions=1 /);
    assert.equal((await users()).stdout, list.stdout, '`users` alone lists');

    // revoke: the token no longer resumes; the password still logs in.
    const revoke = await users('revoke', 'ALICE');
    assert.equal(revoke.code, 0, revoke.stderr);
    assert.match(revoke.stdout, /revoked 1 session\(s\) of alice/);
    await expectCode((await connectFor(t, tracker)).request('resume', { token: alice.token, peerPort: 0 }), 'auth.bad_token');
    await loginUser(await connectFor(t, tracker), 'alice', FAST);
    assert.match((await users('list')).stdout, /^alice .* sessions=1 /m);

    // delete: gone from the list, the password no longer logs in, the token no longer resumes.
    const del = await users('delete', 'bob');
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, /deleted bob and their sessions/);
    assert.doesNotMatch((await users('list')).stdout, /^bob /m);
    await expectCode(loginUser(await connectFor(t, tracker), 'bob', FAST), 'auth.bad_credentials');
    await expectCode((await connectFor(t, tracker)).request('resume', { token: bob.token, peerPort: 0 }), 'auth.bad_token');
    const again = await users('delete', 'bob');
    assert.equal(again.code, 1);
    assert.match(again.stdout, /no user named bob/);
    assert.equal((await users('delete', 'bad name!')).code, 1, 'an invalid name is refused');
    assert.equal((await users('frobnicate')).code, 2);

    // The freed name can be registered again, with new keys, and the tracker serves the new ones.
    // (The deleted account's live connection is not cut by the admin command: close it here.)
    await b.close();
    const c = await connectFor(t, tracker);
    const identity = await createIdentityKeys('bob');
    const password = 'bob the second, new password';
    const keys = await cachedAccountKeys(password, testSalt('bob', password), FAST_SCRYPT_PARAMS);
    await c.request('register', {
      user: 'bob',
      salt: toBase64Url(testSalt('bob', password)),
      authKey: toBase64Url(keys.authKey),
      identity: identity.identity,
      keyBlob: encryptKeyBlob(keys.keyKey, 'bob', identity),
    });
    const newFingerprint = fingerprint(fromBase64Url(identity.identity.signingKey));
    const { keys: served } = await a.request('get_keys', { users: ['bob'] });
    assert.equal(served[0].fingerprint, newFingerprint, 'get_keys serves the new account, not a cached old one');
    const session = await c.request('login', { user: 'bob', authKey: toBase64Url(keys.authKey), peerPort: 0 });
    assert.equal(session.peers.find((p) => p.user === 'bob')?.fingerprint, newFingerprint);
  });

  test('an admin command on a database that does not exist is refused, and creates nothing', async (t) => {
    const dir = await tempDir(t);
    const db = join(dir, 'typo', 'tracker.db');
    for (const args of [['users', 'list'], ['rooms', 'list'], ['users', 'revoke', 'alice']]) {
      const res = await runTrackerCli([...args, '--db', db]);
      assert.notEqual(res.code, 0, res.stdout);
      assert.match(res.stderr, /^error: no database at .*typo.*tracker\.db/m);
    }
    assert.equal(existsSync(join(dir, 'typo')), false, 'no folder, database or secret was made');
  });

  test('rooms list and delete, with --db; the room is gone after a restart', async (t) => {
    const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
    const a = await connectFor(t, tracker);
    const alice = await registerAndLogin(a, 'alice', FAST);
    await createRoom(a, alice, 'lobby');
    await createRoom(a, alice, 'attic', { password: 'attic room password' });
    const rooms = (...args: string[]) => runTrackerCli(['rooms', ...args, '--db', tracker.dbPath]);

    // alice signed both rooms' logs: deleting her would leave them unverifiable, so it is refused
    // (with what to do instead) unless forced.
    const refused = await runTrackerCli(['users', 'delete', 'alice', '--db', tracker.dbPath]);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /alice signed events in the logs of (attic, lobby|lobby, attic).*\n.*users revoke alice.*--force/);

    const list = await rooms('list');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^attic\s+private open\s+events=1 id=[A-Za-z0-9_-]{43}$/m);
    assert.match(list.stdout, /^lobby\s+public\s+open\s+events=1 id=[A-Za-z0-9_-]{43}$/m);

    const del = await rooms('delete', '#Attic');
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, /deleted room attic and its log/);
    assert.doesNotMatch((await rooms('list')).stdout, /attic/);
    const again = await rooms('delete', 'attic');
    assert.equal(again.code, 1);
    assert.match(again.stdout, /no open room named attic/);

    const restarted = await restartTracker(t, tracker, { args: [...FAST_TRACKER_ARGS] });
    const conn = await connectFor(t, restarted);
    await loginUser(conn, 'alice', FAST);
    assert.deepEqual((await conn.request('list_rooms', {})).rooms.map((r) => r.name), ['lobby']);
    // The name is free again.
    assert.equal((await createRoom(conn, alice, 'attic')).room.name, 'attic');
  });
});

describe('signals and environment', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    test(`${signal} stops the tracker: exit code 0 and 'stopped'`, async (t) => {
      const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
      const conn = await connectFor(t, tracker);
      await registerAndLogin(conn, 'sid', FAST);
      const closing = nextEvent(conn, 'closing');
      assert.equal(await tracker.stop(signal), 0);
      assert.equal((await closing).code, 'server.shutdown');
      assert.match(tracker.output(), /^stopped$/m);
      assert.match(tracker.output(), new RegExp(`${signal}: shutting down`));
    });
  }

  test('P2P_TRACKER_BCRYPT_COST=10 is honoured; a flag beats the environment', async (t) => {
    const fromEnv = await startTracker(t, { env: { P2P_TRACKER_BCRYPT_COST: '10' } });
    await registerUser(await connectFor(t, fromEnv), 'envy', FAST);
    assert.match(await storedHash(fromEnv.dbPath, 'envy'), /^\$2b\$10\$/);

    const flagWins = await startTracker(t, { env: { P2P_TRACKER_BCRYPT_COST: '11' }, args: ['--bcrypt-cost', '10'] });
    await registerUser(await connectFor(t, flagWins), 'flag', FAST);
    assert.match(await storedHash(flagWins.dbPath, 'flag'), /^\$2b\$10\$/);
  });

  test('the default bcrypt cost is 12', async (t) => {
    const tracker = await startTracker(t);
    const conn = await connectFor(t, tracker);
    await registerAndLogin(conn, 'dflt', FAST);
    assert.match(await storedHash(tracker.dbPath, 'dflt'), /^\$2b\$12\$/);
  });
});
