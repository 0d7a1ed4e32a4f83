// Names that are also properties of every plain object (issue 7, item 1): `__proto__` and
// `constructor` are valid user and room names, `toString` and `hasOwnProperty` normalize to
// valid ones. None of them may reach another user's pin, block a contact, or get lost on restart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { collect, makeEngine, registered, waitFor, type TestEngine } from '../helpers/engines.ts';

const SLOW = { timeout: 180_000 };
const TRICKY = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];

/** Sends a DM and waits until the receiver has it. */
async function dm(from: TestEngine, to: TestEngine, text: string): Promise<void> {
  const got = waitFor(to, 'message', (m) => m.text === text, 30_000);
  got.catch(() => {}); // awaited below; a failed send must not leave it unhandled
  const sent = await from.sendDirect(to.user!, text);
  assert.equal(sent.recipients, 1, `${from.user} -> ${to.user}: one recipient`);
  assert.equal((await got).from, from.user);
}

test('users named __proto__, constructor, toString and hasOwnProperty message and are messaged; pins stay right across a restart', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const aliceWarnings = collect(alice, 'key_changed');
  const bobWarnings = collect(bob, 'key_changed');
  await dm(bob, alice, 'before');

  // They register and come online while alice and bob are online (their presence events arrive).
  const tricky: TestEngine[] = [];
  for (const name of TRICKY) {
    const online = waitFor(alice, 'presence', (p) => p.user === name.toLowerCase() && p.online, 30_000);
    tricky.push(await registered(t, tracker, name));
    await online;
  }
  assert.deepEqual(tricky.map((e) => e.user), TRICKY.map((n) => n.toLowerCase()));
  for (const e of tricky) {
    await dm(alice, e, `hi ${e.user}`);
    await dm(e, alice, `hello alice from ${e.user}`);
    await dm(e, bob, `hello bob from ${e.user}`);
  }
  await dm(bob, alice, 'after');
  await dm(alice, bob, 'after too');
  assert.deepEqual(aliceWarnings, [], 'no key_changed at alice');
  assert.deepEqual(bobWarnings, [], 'no key_changed at bob');
  assert.equal(({} as Record<string, unknown>).changed, undefined, 'nothing was written onto Object.prototype');

  // Each pin holds that user's own key.
  for (const e of [bob, ...tricky]) assert.equal(alice.fingerprint(e.user).fingerprint, e.fingerprint().fingerprint, `alice's pin of ${e.user}`);
  assert.throws(() => alice.fingerprint('valueof'), { code: 'user.not_found' }, 'a name never seen is not found (not Object.prototype.valueOf)');

  // What the error of the original fault told users to do: verify pins exactly that user's key.
  await bob.verify('alice', alice.fingerprint().fingerprint);
  assert.equal(bob.fingerprint('alice').fingerprint, alice.fingerprint().fingerprint);
  await alice.verify('__proto__', tricky[0].fingerprint().fingerprint);
  await assert.rejects(alice.verify('constructor', bob.fingerprint().fingerprint), { code: 'key.fingerprint_mismatch' });
  assert.equal(alice.fingerprint('__proto__').verified, true);
  assert.equal(alice.fingerprint('constructor').verified, false);
  assert.equal(alice.fingerprint('bob').verified, false);

  // Restart alice from her data folder: the same pins, the same verified marks, and she still
  // reaches everyone and is reached.
  await alice.close();
  const alice2 = await makeEngine(t, tracker, { dataDir: alice.dataDir });
  const restarted = collect(alice2, 'key_changed');
  assert.equal(await alice2.resume(), true);
  for (const e of [bob, ...tricky]) {
    const pin = alice2.fingerprint(e.user);
    assert.equal(pin.fingerprint, e.fingerprint().fingerprint, `after restart, alice's pin of ${e.user}`);
    assert.equal(pin.verified, e.user === '__proto__', `after restart, ${e.user} verified only if alice verified them`);
    assert.equal(pin.changedTo, undefined);
  }
  await dm(bob, alice2, 'after restart');
  for (const e of tricky) {
    await dm(alice2, e, `again ${e.user}`);
    await dm(e, alice2, `again from ${e.user}`);
  }
  assert.deepEqual(restarted, []);
});

test('rooms named __proto__ and constructor are created, joined, used and kept across a restart', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, '__proto__');
  for (const name of ['__proto__', 'constructor']) {
    await alice.createRoom(name);
    const joined = waitFor(alice, 'member_joined', (e) => e.room === name && e.user === '__proto__');
    await bob.joinRoom(name);
    await joined;
    const got = waitFor(bob, 'message', (m) => m.room === name && m.text === `in ${name}`);
    assert.equal((await alice.sendRoom(name, `in ${name}`)).recipients, 1);
    await got;
  }
  assert.deepEqual(alice.joinedRooms().map((r) => r.name).sort(), ['__proto__', 'constructor']);

  await bob.close();
  const bob2 = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  assert.equal(await bob2.resume(), true);
  assert.deepEqual(bob2.joinedRooms().map((r) => r.name).sort(), ['__proto__', 'constructor']);
  assert.deepEqual(bob2.members('constructor').map((m) => m.user).sort(), ['__proto__', 'alice']);
  for (const name of ['__proto__', 'constructor']) {
    const got = waitFor(alice, 'message', (m) => m.room === name && m.text === `back in ${name}`, 30_000);
    assert.equal((await bob2.sendRoom(name, `back in ${name}`)).recipients, 1);
    await got;
  }
});
