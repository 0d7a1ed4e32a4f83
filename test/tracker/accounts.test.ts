// Accounts on a real `node tracker` over TLS (DESIGN.md "Tracker", accounts): prelogin salts,
// register, login, resume, logout, change_password, get_keys, the error codes of each, and the
// failed-login rate limits. After every refused request the tracker still serves a normal client.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fingerprint, fromBase64Url, randomBytes, toBase64Url } from '../../protocol/crypto.ts';
import type { ProtocolError } from '../../protocol/errors.ts';
import { MAX_SESSIONS_PER_USER, type RoomSummary } from '../../protocol/tracker.ts';
import { decryptKeyBlob, encryptKeyBlob, keysMatchIdentity, newAccountSalt } from '../../peer/account.ts';
import type { TrackerConnection } from '../../peer/tracker-connection.ts';
import {
  FAST_SCRYPT_PARAMS,
  cachedAccountKeys,
  identityFor,
  loginUser,
  registerAndLogin,
  registerUser,
  testSalt,
  type RegisteredUser,
} from '../helpers/accounts.ts';
import { expectCode } from '../helpers/events.ts';
import { FAST_TRACKER_ARGS, restartTracker, startTracker, type TrackerProcess } from '../helpers/tracker-process.ts';
import { FAST, assertServes, connectFor, createRoom, nextRoomEvent, queryDb, registerAs, suiteTeardown } from '../helpers/tracker-accounts-extra.ts';
import { KNOWN_ADDRESSES_PER_USER } from '../../tracker/accounts.ts';

const BASE64URL_16 = /^[A-Za-z0-9_-]{22}$/;
const BASE64URL_32 = /^[A-Za-z0-9_-]{43}$/;

/** A valid-looking authKey that belongs to nobody. */
const wrongAuthKey = () => toBase64Url(randomBytes(32));

/** The raw response frame of the next request on `conn` (every key the tracker sent). */
async function rawResponse<T>(conn: TrackerConnection, send: () => Promise<T>): Promise<Record<string, unknown>> {
  const frames: unknown[] = [];
  const onFrame = (f: unknown) => frames.push(f);
  conn.on('frame', onFrame);
  try {
    await send();
  } finally {
    conn.off('frame', onFrame);
  }
  return frames.at(-1) as Record<string, unknown>;
}

describe('accounts', () => {
  const scope = suiteTeardown();
  let tracker: TrackerProcess;
  /** A user who is never refused anything: logs in after each bad case. */
  let canary: RegisteredUser;

  before(async () => {
    tracker = await startTracker(scope.teardown, { args: [...FAST_TRACKER_ARGS] });
    const conn = await tracker.connect();
    canary = await registerUser(conn, 'canary', FAST);
    await conn.close();
  });
  after(() => scope.runAll());

  test('prelogin: the stored salt for a known user, a stable fake one of the same shape for an unknown one', async (t) => {
    const conn = await connectFor(t, tracker);
    const known = await registerUser(conn, 'pearl', FAST);
    assert.equal((await conn.request('prelogin', { user: 'pearl' })).salt, toBase64Url(known.salt));
    assert.equal((await conn.request('prelogin', { user: 'PEARL' })).salt, toBase64Url(known.salt), 'names are case-insensitive');

    const ghost1 = (await conn.request('prelogin', { user: 'ghost' })).salt;
    const ghost2 = (await conn.request('prelogin', { user: 'ghost' })).salt;
    const other = await connectFor(t, tracker);
    const ghost3 = (await other.request('prelogin', { user: 'Ghost' })).salt;
    assert.equal(ghost1, ghost2, 'the fake salt is stable across calls');
    assert.equal(ghost1, ghost3, 'and across connections and letter case');
    const phantom = (await conn.request('prelogin', { user: 'phantom' })).salt;
    assert.notEqual(ghost1, phantom, 'different names get different fake salts');
    assert.notEqual(ghost1, toBase64Url(known.salt));

    // Same shape: the same keys in the response frame, 16 bytes of base64url each.
    const knownFrame = await rawResponse(conn, () => conn.request('prelogin', { user: 'pearl' }));
    const fakeFrame = await rawResponse(conn, () => conn.request('prelogin', { user: 'ghost' }));
    assert.deepEqual(Object.keys(knownFrame).sort(), Object.keys(fakeFrame).sort());
    for (const salt of [knownFrame.salt, fakeFrame.salt, phantom]) {
      assert.match(String(salt), BASE64URL_16);
      assert.equal(fromBase64Url(String(salt)).length, 16);
    }
    await assertServes(tracker, canary);
  });

  test('register, login: the session has a token, the key blob opens with keyKey, the identity, peers and rooms', async (t) => {
    const conn = await connectFor(t, tracker);
    // Real client parameters here (SCRYPT_PARAMS); the other tests use cheap ones.
    const registered = await registerUser(conn, 'alice');
    const me = await loginUser(conn, 'alice', { peerPort: 5001, device: 'QUxJQ0UtREVWSUNFLTAwMQ' });
    const s = me.session;
    assert.equal(s.user, 'alice');
    assert.match(s.token, BASE64URL_32);
    assert.equal(s.keyBlob, registered.keyBlob, 'the tracker hands back exactly the blob the client stored');
    const unlocked = decryptKeyBlob(registered.keys.keyKey, 'alice', s.keyBlob);
    assert.ok(keysMatchIdentity(unlocked, registered.identity.identity));
    assert.deepEqual(s.identity, registered.identity.identity);
    const self = s.peers.find((p) => p.user === 'alice');
    assert.deepEqual(self, {
      user: 'alice',
      online: true,
      address: '127.0.0.1',
      port: 5001,
      fingerprint: fingerprint(fromBase64Url(registered.identity.identity.signingKey)),
      devices: [{ device: 'QUxJQ0UtREVWSUNFLTAwMQ', address: '127.0.0.1', port: 5001, online: true }],
    });
    assert.deepEqual(s.rooms, [], 'a new user is in no room');

    // A room alice created comes back in the rooms of her next login.
    const { room } = await createRoom(conn, registered, 'alice-den');
    const again = await loginUser(await connectFor(t, tracker), 'alice', { peerPort: 5002 });
    assert.deepEqual(
      again.session.rooms.map((r) => [r.name, r.member, r.owner]),
      [['alice-den', true, 'alice']],
    );
    assert.equal(again.session.rooms[0].id, room.id);
    assert.notEqual(again.token, me.token, 'each login gets its own token');
  });

  test('auth.user_exists for a taken name', async (t) => {
    const conn = await connectFor(t, tracker);
    await registerUser(conn, 'bruno', FAST);
    const err = await expectCode(registerUser(conn, 'bruno', { ...FAST, password: 'another password entirely' }), 'auth.user_exists');
    assert.match(err.message, /bruno/);
    // The first account is untouched: its own password still logs in.
    await loginUser(await connectFor(t, tracker), 'bruno', FAST);
    await assertServes(tracker, canary);
  });

  test('auth.invalid_name for SQL metacharacters, look-alike letters, too short and too long names', async (t) => {
    const conn = await connectFor(t, tracker);
    const bad = [
      "a'; DROP TABLE users;--",
      'bob" OR 1=1',
      "x' OR '1'='1",
      'аlice', // Cyrillic а (U+0430)
      'ａｌｉｃｅ', // fullwidth letters
      'alİce', // dotted capital I: lowercases to two code points
      'al ice',
      'al\0ice',
      'a',
      'x'.repeat(33),
    ];
    for (const user of bad) {
      await expectCode(registerAs(conn, { user, identityUser: 'mallory' }), 'auth.invalid_name');
      await expectCode(conn.request('prelogin', { user }), 'auth.invalid_name');
      await expectCode(conn.request('login', { user, authKey: wrongAuthKey(), peerPort: 0 }), 'auth.invalid_name');
    }
    // Over the schema's bound of 64 characters, the request itself is invalid.
    await expectCode(conn.request('prelogin', { user: 'x'.repeat(65) }), 'request.invalid');
    // Nothing was stored and the users table survived: the refused connection logs in, knows
    // none of the bad names, and still finds the canary.
    await loginUser(conn, 'canary', { ...FAST, password: canary.password });
    const { keys, missing } = await conn.request('get_keys', { users: [...bad, 'canary'] });
    assert.deepEqual(keys.map((k) => k.user), ['canary']);
    assert.deepEqual(missing, bad);
    await assertServes(tracker, canary);
  });

  test("'Alice' and 'alice' are one account", async (t) => {
    const conn = await connectFor(t, tracker);
    // The real client normalizes the name before it certifies its keys: identity for 'carol'.
    const carol = await registerAs(conn, { user: 'Carol', identityUser: 'carol' });
    await expectCode(registerAs(conn, { user: 'carol', identityUser: 'carol', password: 'a different password here' }), 'auth.user_exists');
    await expectCode(registerAs(conn, { user: ' CAROL ', identityUser: 'carol' }), 'auth.user_exists');
    const session = await conn.request('login', { user: 'CaRoL', authKey: toBase64Url(carol.keys.authKey), peerPort: 0 });
    assert.equal(session.user, 'carol');
    const { keys, missing } = await conn.request('get_keys', { users: ['CAROL', 'carol'] });
    assert.deepEqual(missing, []);
    assert.equal(keys.length >= 1, true);
    assert.ok(keys.every((k) => k.user === 'carol'));
    await assertServes(tracker, canary);
  });

  test('auth.bad_credentials for a wrong authKey and for an unknown user, with the same message', async (t) => {
    const conn = await connectFor(t, tracker);
    await registerUser(conn, 'dora', FAST);
    const wrong = await expectCode(conn.request('login', { user: 'dora', authKey: wrongAuthKey(), peerPort: 0 }), 'auth.bad_credentials');
    const unknown = await expectCode(conn.request('login', { user: 'nobody-here', authKey: wrongAuthKey(), peerPort: 0 }), 'auth.bad_credentials');
    assert.equal(wrong.message, unknown.message, 'the answer does not tell a wrong password from an unknown name');
    // A wrong password through the real derivation is refused the same way.
    await expectCode(loginUser(conn, 'dora', { ...FAST, password: 'not the password of dora' }), 'auth.bad_credentials');
    // The refused connection stays usable and logs in with the right password.
    assert.equal((await loginUser(conn, 'dora', FAST)).session.user, 'dora');
    await assertServes(tracker, canary);
  });

  test('two clients register one name at the same instant: exactly one wins', async (t) => {
    for (const name of ['race-a', 'race-b', 'race-c']) {
      const [c1, c2] = await Promise.all([connectFor(t, tracker), connectFor(t, tracker)]);
      const passwords = [`${name} first contender password`, `${name} second contender password`];
      // Derive first (registerAs derives from the name and password), so both requests leave at once.
      await Promise.all([identityFor(name), ...passwords.map((p) => cachedAccountKeys(p, testSalt(name, p), FAST_SCRYPT_PARAMS))]);
      const results = await Promise.allSettled([
        registerAs(c1, { user: name, password: passwords[0] }),
        registerAs(c2, { user: name, password: passwords[1] }),
      ]);
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      assert.equal(won.length, 1, `exactly one register of ${name} succeeds: ${JSON.stringify(results.map((r) => r.status))}`);
      await expectCode(Promise.reject(lost[0].reason), 'auth.user_exists');
      // The winner's password is the one stored.
      const winner = results.indexOf(won[0]);
      assert.equal((await loginUser(c1, name, { ...FAST, password: passwords[winner] })).session.user, name);
    }
    await assertServes(tracker, canary);
  });

  test('register with keys certified for another name: request.invalid, and nothing is stored', async (t) => {
    const conn = await connectFor(t, tracker);
    const before = (await conn.request('prelogin', { user: 'victim' })).salt;
    const err = await expectCode(registerAs(conn, { user: 'victim', identityUser: 'mallory' }), 'request.invalid');
    assert.match(err.message, /identity/);
    assert.equal((await conn.request('prelogin', { user: 'victim' })).salt, before, 'victim is still unknown (same fake salt)');
    // The name is still free: its rightful owner can register it.
    await registerUser(conn, 'victim', FAST);
    await assertServes(tracker, canary);
  });

  test('auth.required before login for every request that needs a session', async (t) => {
    const conn = await connectFor(t, tracker);
    const someone = await identityFor('eve');
    const fakeRoom: RoomSummary = {
      id: toBase64Url(randomBytes(32)),
      name: 'nowhere',
      private: false,
      members: 1,
      online: 0,
      closed: false,
      head: { seq: 0, hash: toBase64Url(randomBytes(32)) },
      member: false,
    };
    const event = nextRoomEvent(fakeRoom, { user: 'eve', identity: someone } as RegisteredUser, 'join');
    await expectCode(conn.request('list_peers', {}), 'auth.required');
    await expectCode(conn.request('list_rooms', {}), 'auth.required');
    await expectCode(conn.request('get_keys', { users: ['canary'] }), 'auth.required');
    await expectCode(conn.request('append', { event }), 'auth.required');
    await expectCode(conn.request('create_room', { event }), 'auth.required');
    await expectCode(conn.request('room_log', { room: fakeRoom.id, from: 0 }), 'auth.required');
    await expectCode(conn.request('logout', {}), 'auth.required');
    await expectCode(
      conn.request('change_password', { authKey: wrongAuthKey(), newSalt: toBase64Url(newAccountSalt()), newAuthKey: wrongAuthKey(), newKeyBlob: 'AAAA' }),
      'auth.required',
    );
    // The same connection then logs in and gets what it asked for.
    await loginUser(conn, 'canary', { ...FAST, password: canary.password });
    assert.ok((await conn.request('list_peers', {})).peers.some((p) => p.user === 'canary'));
  });

  test('auth.already_authenticated for a second login, resume or register on a logged-in connection', async (t) => {
    const conn = await connectFor(t, tracker);
    const fay = await registerAndLogin(conn, 'fay', FAST);
    await expectCode(conn.request('login', { user: 'fay', authKey: toBase64Url(fay.keys.authKey), peerPort: 0 }), 'auth.already_authenticated');
    await expectCode(conn.request('login', { user: 'canary', authKey: toBase64Url(canary.keys.authKey), peerPort: 0 }), 'auth.already_authenticated');
    await expectCode(conn.request('resume', { token: fay.token, peerPort: 0 }), 'auth.already_authenticated');
    await expectCode(registerAs(conn, { user: 'fay-two' }), 'auth.already_authenticated');
    // Still logged in as fay, and still served.
    const { keys } = await conn.request('get_keys', { users: ['fay'] });
    assert.equal(keys[0].user, 'fay');
    assert.deepEqual((await conn.request('get_keys', { users: ['fay-two'] })).missing, ['fay-two'], 'the register was not run');
    await assertServes(tracker, canary);
  });

  test('resume with the token on a new connection: the same user, without the password', async (t) => {
    const first = await connectFor(t, tracker);
    const gus = await registerAndLogin(first, 'gus', FAST);
    const second = await connectFor(t, tracker);
    const resumed = await second.request('resume', { token: gus.token, peerPort: 6001 });
    assert.equal(resumed.user, 'gus');
    assert.equal(resumed.token, gus.token);
    assert.deepEqual(resumed.identity, gus.session.identity);
    assert.ok(keysMatchIdentity(decryptKeyBlob(gus.keys.keyKey, 'gus', resumed.keyBlob), resumed.identity));
    assert.ok(resumed.peers.some((p) => p.user === 'gus' && p.online && p.port === 6001));
    assert.deepEqual(resumed.rooms, []);
    // The resumed connection is a full session.
    assert.ok((await second.request('list_peers', {})).peers.some((p) => p.user === 'gus'));
    // Resuming again elsewhere works too: a token is a session, not a single use.
    assert.equal((await (await connectFor(t, tracker)).request('resume', { token: gus.token, peerPort: 0 })).user, 'gus');
  });

  test('auth.bad_token for a garbage token and for a token after logout', async (t) => {
    const conn = await connectFor(t, tracker);
    await expectCode(conn.request('resume', { token: toBase64Url(randomBytes(32)), peerPort: 0 }), 'auth.bad_token');
    await expectCode(conn.request('resume', { token: 'not a token', peerPort: 0 }), 'request.invalid');

    const hal = await registerAndLogin(conn, 'hal', FAST);
    const other = await connectFor(t, tracker);
    assert.equal((await other.request('resume', { token: hal.token, peerPort: 0 })).user, 'hal');
    await conn.request('logout', {});
    await expectCode((await connectFor(t, tracker)).request('resume', { token: hal.token, peerPort: 0 }), 'auth.bad_token');
    // After logout the connection is unauthenticated again, and may log in anew.
    await expectCode(conn.request('list_peers', {}), 'auth.required');
    const again = await loginUser(conn, 'hal', FAST);
    assert.notEqual(again.token, hal.token);
    assert.equal((await (await connectFor(t, tracker)).request('resume', { token: again.token, peerPort: 0 })).user, 'hal');
    await assertServes(tracker, canary);
  });

  test('change_password: a wrong current password is refused; success revokes other sessions and swaps the password', async (t) => {
    const a = await connectFor(t, tracker);
    const b = await connectFor(t, tracker);
    const oldPassword = 'ivy old password for the test';
    const newPassword = 'ivy brand new password, longer';
    const ivy = await registerAndLogin(a, 'ivy', { ...FAST, password: oldPassword });
    const other = await loginUser(b, 'ivy', { ...FAST, password: oldPassword });

    const newSalt = newAccountSalt();
    const newKeys = await cachedAccountKeys(newPassword, newSalt, FAST_SCRYPT_PARAMS);
    const newKeyBlob = encryptKeyBlob(newKeys.keyKey, 'ivy', ivy.unlocked);
    const change = (authKey: Buffer) =>
      a.request('change_password', { authKey: toBase64Url(authKey), newSalt: toBase64Url(newSalt), newAuthKey: toBase64Url(newKeys.authKey), newKeyBlob });

    await expectCode(change(randomBytes(32)), 'auth.bad_credentials');
    // Refused: nothing changed (the old password and both tokens still work).
    assert.equal((await (await connectFor(t, tracker)).request('resume', { token: other.token, peerPort: 0 })).user, 'ivy');

    const { token } = await change(ivy.keys.authKey);
    assert.match(token, BASE64URL_32);
    for (const old of [ivy.token, other.token]) {
      await expectCode((await connectFor(t, tracker)).request('resume', { token: old, peerPort: 0 }), 'auth.bad_token');
    }
    const resumed = await (await connectFor(t, tracker)).request('resume', { token, peerPort: 0 });
    assert.equal(resumed.user, 'ivy');
    assert.equal(resumed.keyBlob, newKeyBlob);

    const fresh = await connectFor(t, tracker);
    assert.equal((await fresh.request('prelogin', { user: 'ivy' })).salt, toBase64Url(newSalt), 'prelogin serves the new salt');
    await expectCode(loginUser(fresh, 'ivy', { ...FAST, password: oldPassword }), 'auth.bad_credentials');
    await expectCode(fresh.request('login', { user: 'ivy', authKey: toBase64Url(ivy.keys.authKey), peerPort: 0 }), 'auth.bad_credentials');
    const relogged = await loginUser(fresh, 'ivy', { ...FAST, password: newPassword });
    assert.ok(keysMatchIdentity(decryptKeyBlob(newKeys.keyKey, 'ivy', relogged.session.keyBlob), relogged.session.identity));
    await assertServes(tracker, canary);
  });

  test('get_keys returns public keys and fingerprints, and lists the names it does not know', async (t) => {
    const conn = await connectFor(t, tracker);
    const jan = await registerUser(conn, 'jan', FAST);
    const kim = await registerAndLogin(conn, 'kim', FAST);
    const { keys, missing } = await conn.request('get_keys', { users: ['jan', 'KIM', 'nobody-at-all', 'jan', 'x'] });
    assert.deepEqual(
      keys.map((k) => k.user),
      ['jan', 'kim'],
    );
    for (const [k, u] of [[keys[0], jan], [keys[1], kim]] as const) {
      assert.deepEqual({ signingKey: k.signingKey, encryptionKey: k.encryptionKey, encryptionKeySig: k.encryptionKeySig }, u.identity.identity);
      assert.equal(k.fingerprint, fingerprint(fromBase64Url(u.identity.identity.signingKey)));
    }
    assert.deepEqual(missing.sort(), ['nobody-at-all', 'x']);
  });
});

describe('prelogin across a restart', () => {
  test('the fake salt of an unknown name and the salt of a known one survive a restart', async (t) => {
    const first = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
    const conn = await first.connect();
    const known = await registerUser(conn, 'lena', FAST);
    const before = {
      ghost: (await conn.request('prelogin', { user: 'ghost' })).salt,
      phantom: (await conn.request('prelogin', { user: 'phantom' })).salt,
      lena: (await conn.request('prelogin', { user: 'lena' })).salt,
    };
    assert.equal(before.lena, toBase64Url(known.salt));
    const second = await restartTracker(t, first, { args: [...FAST_TRACKER_ARGS] });
    const again = await second.connect();
    for (const [user, salt] of Object.entries(before)) {
      assert.equal((await again.request('prelogin', { user })).salt, salt, `prelogin(${user}) after the restart`);
    }
    await assertServes(second, known);
  });
});

test(`a user keeps at most ${MAX_SESSIONS_PER_USER} sessions: a login beyond revokes the oldest token, not the newer ones`, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const user = await registerUser(await tracker.connect(), 'tokens', FAST);
  const authKey = toBase64Url(user.keys.authKey);
  const tokens: string[] = [];
  for (let i = 0; i <= MAX_SESSIONS_PER_USER; i++) {
    const conn = await tracker.connect();
    tokens.push((await conn.request('login', { user: 'tokens', authKey, peerPort: 0 })).token);
    await conn.close();
  }
  await expectCode((await tracker.connect()).request('resume', { token: tokens[0]!, peerPort: 0 }), 'auth.bad_token');
  for (const token of [tokens[1]!, tokens.at(-1)!]) {
    const conn = await tracker.connect();
    assert.equal((await conn.request('resume', { token, peerPort: 0 })).user, 'tokens');
    await conn.close();
  }
});

describe('failed-login throttling: per (name, address), growing delays, never a lock on someone else', () => {
  /** A connection from another loopback address: another machine, as far as the tracker can tell. */
  const from = (tracker: TrackerProcess, localAddress: string) => tracker.connect({ localAddress });
  const wrong = (c: TrackerConnection, user: string) =>
    c.request('login', { user, authKey: wrongAuthKey(), peerPort: 0 }).then(
      () => assert.fail('a wrong authKey logged in'),
      (e: ProtocolError) => e,
    );

  test("a stranger's wrong passwords for mia slow the stranger, with growing delays; mia logs in from her address at once", async (t) => {
    const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--failed-login-delay', '300'] });
    const mia = await registerUser(await tracker.connect(), 'mia', FAST);
    const stranger = await from(tracker, '127.0.0.2');
    const codes: string[] = [];
    let limited: ProtocolError | undefined;
    for (let i = 0; i < 12; i++) {
      const e = await wrong(stranger, 'mia');
      codes.push(e.code);
      if (e.code === 'rate_limited') limited ??= e;
    }
    // Five free tries, then a wait; more attempts during the wait are refused before bcrypt.
    assert.deepEqual(codes.slice(0, 5), Array(5).fill('auth.bad_credentials'));
    assert.ok(codes.slice(5).includes('rate_limited'), codes.join());
    assert.ok(limited!.retryAfterMs! > 0 && limited!.retryAfterMs! <= 300, `retryAfterMs ${limited!.retryAfterMs}`);
    assert.match(limited!.message, /mia from 127\.0\.0\.2; try again in \d+ s/);
    // Even the right password waits at the stranger's address...
    const right = toBase64Url(mia.keys.authKey);
    await expectCode(stranger.request('login', { user: 'mia', authKey: right, peerPort: 0 }), 'rate_limited');
    // ...but not at mia's own, on a new connection, at once: nothing the stranger did holds her.
    assert.equal((await (await tracker.connect()).request('login', { user: 'MIA', authKey: right, peerPort: 0 })).user, 'mia');

    // Each further failure doubles the stranger's wait. Waiting what the tracker said is the
    // behaviour under test.
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      let e = await wrong(stranger, 'mia');
      while (e.code === 'rate_limited') {
        await new Promise((resolve) => setTimeout(resolve, e.retryAfterMs));
        e = await wrong(stranger, 'mia');
      }
      assert.equal(e.code, 'auth.bad_credentials');
      const next = await wrong(stranger, 'mia');
      assert.equal(next.code, 'rate_limited');
      waits.push(next.retryAfterMs!);
    }
    t.diagnostic(`waits after failures 6, 7, 8: ${waits.join(', ')} ms`);
    assert.ok(waits[1]! > waits[0]! && waits[2]! > waits[1]!, `the delays grow: ${waits.join(', ')}`);
    assert.ok(waits[2]! > 300 * 4 * 0.8, `the third is about 8 times the first delay: ${waits[2]}`);
  });

  test("eight people behind one address each mistype three times: nobody is locked by the others' typos", async (t) => {
    const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
    const names = Array.from({ length: 8 }, (_, i) => `jump${String.fromCharCode(97 + i)}`);
    const users = [];
    for (const name of names) users.push(await registerUser(await tracker.connect(), name, FAST));
    const shared = await from(tracker, '127.0.0.3');
    // 24 failures from one address: over the old limit of 20 per address.
    for (const name of names) for (let i = 0; i < 3; i++) assert.equal((await wrong(shared, name)).code, 'auth.bad_credentials');
    for (const user of users) {
      const session = await (await from(tracker, '127.0.0.3')).request('login', { user: user.user, authKey: toBase64Url(user.keys.authKey), peerPort: 0 });
      assert.equal(session.user, user.user);
    }
  });

  test("a stranger's 120 wrong logins for made-up names from a shared address lock nobody out: a colleague new to that address logs in at once", async (t) => {
    const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
    const pia = await registerUser(await tracker.connect(), 'pia', FAST);
    // Over the old per-address lock (100 failures): three connections of 40 guesses, at once.
    await Promise.all(
      [0, 1, 2].map(async (c) => {
        const guesser = await from(tracker, '127.0.0.4');
        for (let i = 0; i < 40; i++) assert.equal((await wrong(guesser, `madeup${c}x${i}`)).code, 'auth.bad_credentials');
      }),
    );
    // pia never logged in from 127.0.0.4: her right password works there.
    assert.equal((await (await from(tracker, '127.0.0.4')).request('login', { user: 'pia', authKey: toBase64Url(pia.keys.authKey), peerPort: 0 })).user, 'pia');
  });

  test('a resume is never throttled: with (olga, address) delayed by a co-tenant\'s typos, olga\'s session resumes from there', async (t) => {
    const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--failed-login-delay', '60000'] });
    await registerUser(await tracker.connect(), 'olga', FAST);
    const token = (await loginUser(await from(tracker, '127.0.0.5'), 'olga', FAST)).token;
    const typist = await from(tracker, '127.0.0.5');
    for (let i = 0; i < 5; i++) assert.equal((await wrong(typist, 'olga')).code, 'auth.bad_credentials');
    assert.equal((await wrong(typist, 'olga')).code, 'rate_limited');
    assert.equal((await (await from(tracker, '127.0.0.5')).request('resume', { token, peerPort: 0 })).user, 'olga');
  });

  test(`the addresses a user logged in from are kept in the database, the ${KNOWN_ADDRESSES_PER_USER} most recent, across a restart`, async (t) => {
    const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
    await registerUser(await tracker.connect(), 'nomad', FAST);
    const addresses = Array.from({ length: KNOWN_ADDRESSES_PER_USER + 2 }, (_, i) => `127.0.1.${i + 1}`);
    for (const address of addresses) {
      const conn = await from(tracker, address);
      await loginUser(conn, 'nomad', FAST);
      await conn.close();
    }
    const restarted = await restartTracker(t, tracker, { args: [...FAST_TRACKER_ARGS] });
    const rows = await queryDb<{ address: string }>(restarted.dbPath, "SELECT address FROM known_logins WHERE user = 'nomad' ORDER BY address");
    assert.deepEqual(rows.map((r) => r.address).sort(), addresses.slice(2).sort());
  });
});
