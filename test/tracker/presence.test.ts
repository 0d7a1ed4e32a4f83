// Presence on a real `node tracker` (DESIGN.md "Tracker", presence): pushed on login, logout and
// disconnect, with the address the tracker sees, the advertised peer port, the key fingerprint
// and each device online; a silent client is dropped after the heartbeat timeout; list_peers and the
// login response list who is online.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fingerprint, fromBase64Url } from '../../protocol/crypto.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { loginUser, registerAndLogin, registerUser, type RegisteredUser } from '../helpers/accounts.ts';
import { expectNoEvent, nextEvent } from '../helpers/events.ts';
import { FAST_TRACKER_ARGS, startTracker, type TrackerProcess } from '../helpers/tracker-process.ts';
import { FAST, assertServes, connectFor, suiteTeardown } from '../helpers/tracker-accounts-extra.ts';

/** Device ids as a data folder makes them (16 random bytes, base64url). */
const [DEVICE_A, DEVICE_B, DEVICE_C] = ['AAAAAAAAAAAAAAAAAAAAAA', 'BBBBBBBBBBBBBBBBBBBBBA', 'CCCCCCCCCCCCCCCCCCCCCA'];

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
    await loginUser(b1, 'bob', { ...FAST, peerPort: 40001, device: DEVICE_A });
    assert.deepEqual(await online, {
      event: 'presence', user: 'bob', online: true, address: '127.0.0.1', port: 40001, fingerprint: fingerprintOf(bob),
      devices: [{ device: DEVICE_A, address: '127.0.0.1', port: 40001, online: true }],
    });

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

  test('a user on two devices stays online until the last one goes; each device coming, moving and going is pushed with the devices listed', async (t) => {
    const watcher = await connectFor(t, tracker);
    await registerAndLogin(watcher, 'cleo', FAST);
    const dan = await registerUser(await connectFor(t, tracker), 'dan', FAST);
    const [d1, d2, d3] = [await connectFor(t, tracker), await connectFor(t, tracker), await connectFor(t, tracker)];
    const row = (device: string, port: number) => ({ device, address: '127.0.0.1', port, online: true });
    const first = nextEvent(watcher, 'presence', (e) => e.user === 'dan');
    await loginUser(d1, 'dan', { ...FAST, peerPort: 41001, device: DEVICE_A });
    assert.equal((await first).online, true);
    // A second device is news: other clients must learn where it listens.
    const second = nextEvent(watcher, 'presence', (e) => e.user === 'dan');
    await loginUser(d2, 'dan', { ...FAST, peerPort: 41002, device: DEVICE_B });
    const both = await second;
    assert.equal(both.online, true);
    assert.deepEqual(both.devices, [row(DEVICE_A, 41001), row(DEVICE_B, 41002)]);
    // The newest device's port is the one a client older than devices uses.
    const listed = (await watcher.request('list_peers', {})).peers.find((p) => p.user === 'dan');
    assert.equal(listed?.port, 41002);
    assert.deepEqual(listed?.devices, [row(DEVICE_A, 41001), row(DEVICE_B, 41002)]);
    // Device B signs in again on a new port (a restart before its old connection timed out): one row for it, at the new port.
    const moved = nextEvent(watcher, 'presence', (e) => e.user === 'dan');
    await loginUser(d3, 'dan', { ...FAST, peerPort: 41003, device: DEVICE_B });
    assert.deepEqual((await moved).devices, [row(DEVICE_A, 41001), row(DEVICE_B, 41003)]);
    // Its old connection going is no change.
    await expectNoEvent(watcher, (e) => e.event === 'presence' && e.user === 'dan', async () => {
      d2.rawSocket.destroy();
      await watcher.request('ping', {});
      await watcher.request('ping', {});
    });
    // Device A logs out: still online, on B only.
    const left = nextEvent(watcher, 'presence', (e) => e.user === 'dan');
    await d1.request('logout', {});
    const onB = await left;
    assert.equal(onB.online, true);
    assert.deepEqual(onB.devices, [row(DEVICE_B, 41003)]);
    const gone = nextEvent(watcher, 'presence', (e) => e.user === 'dan');
    d3.rawSocket.destroy();
    assert.equal((await gone).online, false);
    await assertServes(tracker, dan);
  });

  test('a device on two connections (a resume before the old one was reaped): when the newer goes, the older address is pushed', async (t) => {
    const watcher = await connectFor(t, tracker);
    await registerAndLogin(watcher, 'jana', FAST);
    await registerUser(await connectFor(t, tracker), 'kai', FAST);
    const [k1, k2] = [await connectFor(t, tracker), await connectFor(t, tracker)];
    await loginUser(k1, 'kai', { ...FAST, peerPort: 44001, device: DEVICE_A });
    const moved = nextEvent(watcher, 'presence', (e) => e.user === 'kai');
    await loginUser(k2, 'kai', { ...FAST, peerPort: 44002, device: DEVICE_A });
    assert.deepEqual((await moved).devices?.map((d) => d.port), [44002]);
    const back = nextEvent(watcher, 'presence', (e) => e.user === 'kai');
    k2.rawSocket.destroy();
    const row = await back;
    assert.equal(row.online, true);
    assert.deepEqual(row.devices?.map((d) => d.port), [44001], 'the route that remains, not a stale one');
  });

  test('logout everywhere ends every device of the user; a plain logout only its own', async (t) => {
    const watcher = await connectFor(t, tracker);
    await registerAndLogin(watcher, 'hana', FAST);
    const ivo = await registerUser(await connectFor(t, tracker), 'ivo', FAST);
    const [i1, i2, i3] = [await connectFor(t, tracker), await connectFor(t, tracker), await connectFor(t, tracker)];
    await loginUser(i1, 'ivo', { ...FAST, peerPort: 43001, device: DEVICE_A });
    const s2 = await loginUser(i2, 'ivo', { ...FAST, peerPort: 43002, device: DEVICE_B });
    await loginUser(i3, 'ivo', { ...FAST, peerPort: 43003, device: DEVICE_C });
    await i3.request('logout', {});
    const offline = nextEvent(watcher, 'presence', (e) => e.user === 'ivo' && !e.online);
    const ended = new Promise<void>((resolve) => i2.rawSocket.once('close', () => resolve()));
    await i1.request('logout', { everywhere: true });
    await offline;
    await ended;
    // The other device's token is revoked too: it cannot resume.
    const again = await connectFor(t, tracker);
    await assert.rejects(again.request('resume', { token: s2.token, peerPort: 43002, device: DEVICE_B }), (err: { code?: string }) => err.code === 'auth.bad_token');
    await assertServes(tracker, ivo);
  });

  test('list_peers shows online and offline users; the login response lists who is online', async (t) => {
    const c1 = await connectFor(t, tracker);
    const c2 = await connectFor(t, tracker);
    await registerUser(c1, 'eddy', FAST);
    const fifi = await registerUser(c2, 'fifi', FAST);
    const gil = await registerUser(c2, 'gil', FAST); // never logs in
    const ed = await loginUser(c1, 'eddy', { ...FAST, peerPort: 42001, device: DEVICE_A });

    const fifiSession = await loginUser(c2, 'fifi', { ...FAST, peerPort: 42002, device: DEVICE_B });
    const byUser = new Map(fifiSession.session.peers.map((p) => [p.user, p]));
    assert.deepEqual(byUser.get('eddy'), { user: 'eddy', online: true, address: '127.0.0.1', port: 42001, fingerprint: fingerprintOf(ed), devices: [{ device: DEVICE_A, address: '127.0.0.1', port: 42001, online: true }] });
    assert.deepEqual(byUser.get('fifi'), { user: 'fifi', online: true, address: '127.0.0.1', port: 42002, fingerprint: fingerprintOf(fifi), devices: [{ device: DEVICE_B, address: '127.0.0.1', port: 42002, online: true }] });
    assert.ok(fifiSession.session.peers.every((p) => p.online), 'the login response lists only who is online');
    assert.equal(byUser.has('gil'), false);

    const peers = new Map((await c1.request('list_peers', {})).peers.map((p) => [p.user, p]));
    assert.deepEqual(peers.get('gil'), { user: 'gil', online: false, fingerprint: fingerprintOf(gil) });
    assert.deepEqual(peers.get('eddy'), { user: 'eddy', online: true, address: '127.0.0.1', port: 42001, fingerprint: fingerprintOf(ed), devices: [{ device: DEVICE_A, address: '127.0.0.1', port: 42001, online: true }] });
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
