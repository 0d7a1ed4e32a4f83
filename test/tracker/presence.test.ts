// Presence on a real `node tracker` (DESIGN.md "Tracker", presence): pushed on login, logout and
// disconnect, with the address the tracker sees, the advertised peer port and the key
// fingerprint; a silent client is dropped after the heartbeat timeout; list_peers and the
// login response list who is online.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fingerprint, fromBase64Url } from '../../protocol/crypto.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { loginUser, registerAndLogin, registerUser, type RegisteredUser } from '../helpers/accounts.ts';
import { expectNoEvent, nextEvent } from '../helpers/events.ts';
import { FAST_TRACKER_ARGS, startTracker, type TrackerProcess } from '../helpers/tracker-process.ts';
import { FAST, assertServes, connectFor, suiteTeardown } from '../helpers/tracker-accounts-extra.ts';

const fingerprintOf = (u: RegisteredUser) => fingerprint(fromBase64Url(u.identity.identity.signingKey));

describe('presence', () => {
  const scope = suiteTeardown();
  let tracker: TrackerProcess;

  before(async () => {
    tracker = await startTracker(scope.teardown, { args: [...FAST_TRACKER_ARGS] });
  });
  after(() => scope.runAll());

  test('a login is pushed online (address, peer port, fingerprint); logout and a dropped socket are pushed offline', async (t) => {
    const watcher = await connectFor(t, tracker);
    await registerAndLogin(watcher, 'ann', FAST);
    const bob = await registerUser(await connectFor(t, tracker), 'bob', FAST);

    // Login: online, where the tracker sees bob and the port he advertised.
    const b1 = await connectFor(t, tracker);
    const online = nextEvent(watcher, 'presence', (e) => e.user === 'bob');
    await loginUser(b1, 'bob', { ...FAST, peerPort: 40001 });
    assert.deepEqual(await online, { event: 'presence', user: 'bob', online: true, address: '127.0.0.1', port: 40001, fingerprint: fingerprintOf(bob) });

    // Logout: offline, without an address or port.
    const offline = nextEvent(watcher, 'presence', (e) => e.user === 'bob');
    await b1.request('logout', {});
    assert.deepEqual(await offline, { event: 'presence', user: 'bob', online: false, fingerprint: fingerprintOf(bob) });

    // A socket destroyed without a word: offline too.
    const b2 = await connectFor(t, tracker);
    const back = nextEvent(watcher, 'presence', (e) => e.user === 'bob' && e.online);
    await loginUser(b2, 'bob', { ...FAST, peerPort: 40002 });
    assert.equal((await back).port, 40002);
    const gone = nextEvent(watcher, 'presence', (e) => e.user === 'bob');
    b2.rawSocket.destroy();
    assert.deepEqual(await gone, { event: 'presence', user: 'bob', online: false, fingerprint: fingerprintOf(bob) });
    await assertServes(tracker, bob);
  });

  test('a user on two connections stays online until the last one goes', async (t) => {
    const watcher = await connectFor(t, tracker);
    await registerAndLogin(watcher, 'cleo', FAST);
    const dan = await registerUser(await connectFor(t, tracker), 'dan', FAST);
    const d1 = await connectFor(t, tracker);
    const d2 = await connectFor(t, tracker);
    const first = nextEvent(watcher, 'presence', (e) => e.user === 'dan');
    await loginUser(d1, 'dan', { ...FAST, peerPort: 41001 });
    assert.equal((await first).online, true);
    // The second connection of an online user is not news.
    await expectNoEvent(watcher, (e) => e.event === 'presence' && e.user === 'dan', async () => {
      await loginUser(d2, 'dan', { ...FAST, peerPort: 41002 });
      await watcher.request('ping', {});
    });
    // The newest connection's port is the one advertised.
    const listed = (await watcher.request('list_peers', {})).peers.find((p) => p.user === 'dan');
    assert.equal(listed?.port, 41002);
    // One of two logs out: still online (the broadcast would precede the logout's answer).
    await expectNoEvent(watcher, (e) => e.event === 'presence' && e.user === 'dan', async () => {
      await d1.request('logout', {});
      await watcher.request('ping', {});
    });
    const gone = nextEvent(watcher, 'presence', (e) => e.user === 'dan');
    d2.rawSocket.destroy();
    assert.equal((await gone).online, false);
    await assertServes(tracker, dan);
  });

  test('list_peers shows online and offline users; the login response lists who is online', async (t) => {
    const c1 = await connectFor(t, tracker);
    const c2 = await connectFor(t, tracker);
    await registerUser(c1, 'eddy', FAST);
    const fifi = await registerUser(c2, 'fifi', FAST);
    const gil = await registerUser(c2, 'gil', FAST); // never logs in
    const ed = await loginUser(c1, 'eddy', { ...FAST, peerPort: 42001 });

    const fifiSession = await loginUser(c2, 'fifi', { ...FAST, peerPort: 42002 });
    const byUser = new Map(fifiSession.session.peers.map((p) => [p.user, p]));
    assert.deepEqual(byUser.get('eddy'), { user: 'eddy', online: true, address: '127.0.0.1', port: 42001, fingerprint: fingerprintOf(ed) });
    assert.deepEqual(byUser.get('fifi'), { user: 'fifi', online: true, address: '127.0.0.1', port: 42002, fingerprint: fingerprintOf(fifi) });
    assert.ok(fifiSession.session.peers.every((p) => p.online), 'the login response lists only who is online');
    assert.equal(byUser.has('gil'), false);

    const peers = new Map((await c1.request('list_peers', {})).peers.map((p) => [p.user, p]));
    assert.deepEqual(peers.get('gil'), { user: 'gil', online: false, fingerprint: fingerprintOf(gil) });
    assert.deepEqual(peers.get('eddy'), { user: 'eddy', online: true, address: '127.0.0.1', port: 42001, fingerprint: fingerprintOf(ed) });
    assert.equal(peers.get('fifi')?.online, true);

    const offline = nextEvent(c1, 'presence', (e) => e.user === 'fifi' && !e.online);
    await c2.request('logout', {});
    await offline;
    const after = new Map((await c1.request('list_peers', {})).peers.map((p) => [p.user, p]));
    assert.deepEqual(after.get('fifi'), { user: 'fifi', online: false, fingerprint: fingerprintOf(fifi) });
  });
});

describe('heartbeat timeout', () => {
  test('a client that stays connected but sends nothing is dropped (server.timeout) and reported offline', async (t) => {
    const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--heartbeat-timeout', '1500'] });
    // The watcher pings by hand (no self-destruct on a slow answer), well inside the timeout.
    const watcher = await tracker.connect({ heartbeatMs: 0 });
    const pinger = setInterval(() => watcher.request('ping', {}).catch(() => {}), 300);
    t.after(() => clearInterval(pinger));
    const ivo = await registerUser(watcher, 'ivo', FAST);
    await registerAndLogin(watcher, 'hana', FAST);

    const silent = await tracker.connect({ heartbeatMs: 0 });
    const closing = nextEvent(silent, 'closing', undefined, 10_000);
    const closed = new Promise<Error | undefined>((resolve) => silent.once('close', resolve));
    const online = nextEvent(watcher, 'presence', (e) => e.user === 'ivo' && e.online);
    await loginUser(silent, 'ivo', { ...FAST, peerPort: 43001 });
    const loggedInAt = Date.now();
    await online;
    const offline = nextEvent(watcher, 'presence', (e) => e.user === 'ivo' && !e.online, 10_000);

    const event = await closing;
    assert.equal(event.code, 'server.timeout');
    assert.ok(Date.now() - loggedInAt >= 1000, `dropped after ${Date.now() - loggedInAt} ms, before the timeout`);
    const reason = await closed;
    assert.ok(reason instanceof ProtocolError && reason.code === 'server.timeout', `close reason ${reason}`);
    assert.deepEqual(await offline, { event: 'presence', user: 'ivo', online: false, fingerprint: fingerprintOf(ivo) });

    // The watcher, which kept talking, is still connected and logged in; ivo can come back.
    assert.equal(watcher.closed, false);
    assert.equal((await watcher.request('list_peers', {})).peers.find((p) => p.user === 'ivo')?.online, false);
    await assertServes(tracker, ivo);
  });
});
