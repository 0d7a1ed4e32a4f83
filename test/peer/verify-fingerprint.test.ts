// Reading a fingerprint never marks anyone verified (issue 7, item 2): the engine's lookup, the
// extension's Verify Member flow (extension/verify-member.ts, with a real engine), and verify()
// itself, which marks only a key the user was shown.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { verifyMember, type FingerprintToConfirm } from '../../extension/verify-member.ts';
import { normalizeFingerprint } from '../../protocol/crypto.ts';
import { FAST_TRACKER_ARGS, REPO_ROOT, startTracker } from '../helpers/tracker-process.ts';
import { makeEngine, registered, waitFor } from '../helpers/engines.ts';

const run = promisify(execFile);
const SLOW = { timeout: 180_000 };

test('looking up a fingerprint of a user never seen fetches it unverified, and that survives a restart', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const carol = await registered(t, tracker, 'carol');
  assert.throws(() => alice.fingerprint('carol'), { code: 'user.not_found' }, 'alice has never seen carol');

  const fp = await alice.lookupFingerprint('Carol');
  assert.deepEqual(fp, { user: 'carol', fingerprint: carol.fingerprint().fingerprint, verified: false });
  assert.equal(alice.fingerprint('carol').verified, false);
  assert.deepEqual(await alice.lookupFingerprint(), { user: 'alice', fingerprint: alice.fingerprint().fingerprint, verified: true });
  await assert.rejects(alice.lookupFingerprint('nobody'), { code: 'user.not_found', message: /knows no user named nobody/ });

  await alice.close();
  const again = await makeEngine(t, tracker, { dataDir: alice.dataDir });
  assert.equal(await again.resume(), true);
  assert.deepEqual(again.fingerprint('carol'), { user: 'carol', fingerprint: carol.fingerprint().fingerprint, verified: false });
});

test('verify without a fingerprint marks nothing; with one, only that key', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const carol = await registered(t, tracker, 'carol');

  await assert.rejects(alice.verify('bob'), { code: 'user.not_found', message: /run fingerprint bob/ });
  assert.throws(() => alice.fingerprint('bob'), { code: 'user.not_found' }, 'the refused verify pinned nothing either');
  const wrong = await alice.verify('bob', carol.fingerprint().fingerprint).then(() => assert.fail('verified a wrong fingerprint'), (e: unknown) => e as Error);
  assert.equal((wrong as { code?: unknown }).code, 'key.fingerprint_mismatch');
  // The real fingerprint is not shown next to the wrong one (it would invite pasting it back),
  // in any form; the message says how to see the key.
  assert.equal(normalizeFingerprint(wrong.message).includes(normalizeFingerprint(bob.fingerprint().fingerprint)), false, wrong.message);
  assert.match(wrong.message, /does not match bob's key.*Run fingerprint bob/);
  assert.equal(alice.fingerprint('bob').verified, false);
  // The fingerprint as people read it aloud: groups, any case, colons or spaces.
  const spoken = bob.fingerprint().fingerprint.toLowerCase().replace(/ /g, ':');
  assert.deepEqual(await alice.verify('bob', spoken), { user: 'bob', fingerprint: bob.fingerprint().fingerprint });
  assert.equal(alice.fingerprint('bob').verified, true);
  // A pinned key is not a key that was shown: even after a lookup, verify wants the fingerprint
  // that was compared, and marks nothing without it.
  await alice.lookupFingerprint('carol');
  await assert.rejects(alice.verify('carol'), { code: 'request.invalid', message: /run fingerprint carol/ });
  assert.equal(alice.fingerprint('carol').verified, false);
  await alice.verify('carol', carol.fingerprint().fingerprint);
  assert.equal(alice.fingerprint('carol').verified, true);
});

test('Verify Member: cancelling leaves the user unverified; confirming verifies the key shown', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const carol = await registered(t, tracker, 'carol');
  const shown: FingerprintToConfirm[] = [];

  assert.equal(await verifyMember(alice, 'carol', async (fp) => (shown.push(fp), false)), undefined);
  assert.deepEqual(shown, [{ user: 'carol', fingerprint: carol.fingerprint().fingerprint, changed: false, verified: false }]);
  assert.equal(alice.fingerprint('carol').verified, false, 'cancelled: not verified');
  await alice.close();
  const alice2 = await makeEngine(t, tracker, { dataDir: alice.dataDir });
  assert.equal(await alice2.resume(), true);
  assert.equal(alice2.fingerprint('carol').verified, false, 'cancelled: not verified after a restart either');

  assert.equal(await verifyMember(alice2, 'carol', async (fp) => (shown.push(fp), true)), 'carol');
  assert.equal(shown[1].fingerprint, carol.fingerprint().fingerprint);
  assert.deepEqual(alice2.fingerprint('carol'), { user: 'carol', fingerprint: carol.fingerprint().fingerprint, verified: true });
  await assert.rejects(verifyMember(alice2, 'nobody', async () => true), { code: 'user.not_found' });
});

test('Verify Member: a key that changes while the fingerprint is on screen is refused, not verified', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const carol = await registered(t, tracker, 'carol');
  const oldFingerprint = carol.fingerprint().fingerprint;
  let newFingerprint = '';

  const verifying = verifyMember(alice, 'carol', async (fp) => {
    assert.equal(fp.fingerprint, oldFingerprint);
    // While the modal is open, an admin deletes carol and someone registers the name again.
    await carol.close();
    await run(process.execPath, [join(REPO_ROOT, 'tracker'), 'users', 'delete', 'carol', '--force', '--db', tracker.dbPath]);
    const changed = waitFor(alice, 'key_changed', (e) => e.user === 'carol', 30_000);
    const carol2 = await registered(t, tracker, 'carol');
    newFingerprint = carol2.fingerprint().fingerprint;
    await changed;
    return true;
  });
  await assert.rejects(verifying, { code: 'key.fingerprint_mismatch' });
  assert.notEqual(newFingerprint, oldFingerprint);
  assert.deepEqual(alice.fingerprint('carol'), { user: 'carol', fingerprint: oldFingerprint, verified: false, changedTo: newFingerprint });

  // Shown again, the flow now presents the new key as a change.
  const shown: FingerprintToConfirm[] = [];
  assert.equal(await verifyMember(alice, 'carol', async (fp) => (shown.push(fp), true)), 'carol');
  assert.deepEqual(shown, [{ user: 'carol', fingerprint: newFingerprint, changed: true, verified: false }]);
  assert.deepEqual(alice.fingerprint('carol'), { user: 'carol', fingerprint: newFingerprint, verified: true });
});
