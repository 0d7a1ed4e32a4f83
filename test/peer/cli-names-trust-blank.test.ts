// The terminal client (`node peer --json`, spawned) for issue 7 items 1, 2 and 10: a contact named
// __proto__ reached across a restart of the client, `fingerprint USER` fetching without marking
// anyone verified, `verify USER` refusing a key never shown, and blank messages refused.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { checkPeerBundle, PeerProcess, removeDataFolder } from '../helpers/peer-process.ts';
import { FAST_TRACKER_ARGS, startTracker, type TrackerProcess } from '../helpers/tracker-process.ts';
import { collect, registered, waitFor } from '../helpers/engines.ts';

const SLOW = { timeout: 240_000 };
const PASSWORD = 'plum kettle orbit 93 lantern';

function spawnPeer(t: TestContext, tracker: TrackerProcess, data: string): PeerProcess {
  const peer = new PeerProcess({ tracker: `${tracker.host}:${tracker.port}`, data, label: 'alice' });
  t.after(() => peer.stop());
  return peer;
}

async function errorOf(peer: PeerProcess, cmd: Record<string, unknown>): Promise<{ code: string; message: string }> {
  const { answer } = await peer.request(cmd);
  assert.equal(answer.ok, false, `${JSON.stringify(cmd)} must fail`);
  return answer.error!;
}

test('node peer --json: fingerprint fetches unverified, verify needs a key shown, blank messages refused, __proto__ reached across a restart', SLOW, async (t) => {
  checkPeerBundle();
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const bob = await registered(t, tracker, 'bob');
  const carol = await registered(t, tracker, 'carol');
  const proto = await registered(t, tracker, '__proto__');
  const data = await mkdtemp(join(tmpdir(), 'p2p-cli-'));
  removeDataFolder(t, data);

  let alice = spawnPeer(t, tracker, data);
  await alice.ok({ cmd: 'register', user: 'alice', password: PASSWORD });
  await alice.ok({ cmd: 'login', user: 'alice', password: PASSWORD });

  // Item 2: reading a fingerprint marks nothing verified; verify marks only a key shown.
  const fp = await alice.ok({ cmd: 'fingerprint', user: 'bob' });
  assert.equal(fp.fingerprint, bob.fingerprint().fingerprint);
  assert.equal(fp.verified, false);
  assert.equal((await errorOf(alice, { cmd: 'verify', user: 'carol' })).code, 'user.not_found');
  assert.equal((await errorOf(alice, { cmd: 'fingerprint', user: 'nobody' })).code, 'user.not_found');
  assert.equal((await alice.ok({ cmd: 'fingerprint', user: 'carol' })).verified, false);
  assert.equal((await errorOf(alice, { cmd: 'verify', user: 'carol', fingerprint: bob.fingerprint().fingerprint })).code, 'key.fingerprint_mismatch');
  await alice.ok({ cmd: 'verify', user: 'carol', fingerprint: carol.fingerprint().fingerprint });
  assert.equal((await alice.ok({ cmd: 'fingerprint', user: 'carol' })).verified, true);

  // Item 10: blank messages are refused, in rooms and to users; nothing reaches bob but the real one.
  await alice.ok({ cmd: 'create_room', room: 'ops' });
  const joined = alice.waitEvent('member_joined', (e) => e.user === 'bob');
  await bob.joinRoom('ops');
  await joined;
  const atBob = collect(bob, 'message');
  for (const text of ['', '   ', '\n\t ', '\u200b']) {
    const refused = await errorOf(alice, { cmd: 'msg_room', room: 'ops', text });
    assert.equal(refused.code, 'message.blank', JSON.stringify(text));
    assert.match(refused.message, /type something/);
    assert.equal((await errorOf(alice, { cmd: 'msg', user: 'bob', text })).code, 'message.blank');
  }
  const real = waitFor(bob, 'message', (m) => m.text === 'real one', 30_000);
  assert.equal((await alice.ok({ cmd: 'msg_room', room: 'ops', text: 'real one' })).recipients, 1);
  await real;
  assert.deepEqual(atBob.map((m) => m.text), ['real one']);

  // Item 1: a contact named __proto__, before and after the client restarts.
  let got = waitFor(proto, 'message', (m) => m.text === 'hi proto', 30_000);
  assert.equal((await alice.ok({ cmd: 'msg', user: '__proto__', text: 'hi proto' })).recipients, 1);
  await got;
  assert.equal((await alice.ok({ cmd: 'fingerprint', user: '__proto__' })).fingerprint, proto.fingerprint().fingerprint);
  assert.equal(await alice.stop(), 0);

  alice = spawnPeer(t, tracker, data);
  await alice.waitEvent('ready');
  for (const [user, engine] of [['__proto__', proto], ['bob', bob], ['carol', carol]] as const) {
    const pin = await alice.ok({ cmd: 'fingerprint', user });
    assert.equal(pin.fingerprint, engine.fingerprint().fingerprint, `${user}'s pin after the restart`);
    assert.equal(pin.verified, user === 'carol');
  }
  got = waitFor(proto, 'message', (m) => m.text === 'hi again', 30_000);
  assert.equal((await alice.ok({ cmd: 'msg', user: '__proto__', text: 'hi again' })).recipients, 1);
  await got;
  const toAlice = alice.waitEvent('message', (e) => e.text === 'from proto' && e.from === '__proto__');
  assert.equal((await proto.sendDirect('alice', 'from proto')).recipients, 1);
  await toAlice;
});
