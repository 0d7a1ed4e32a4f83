// `verify` marks only the key the user was shown and compared (issue 7, item 2, as a security
// tester broke it): a pin is made silently on first sight (a DM, a join, a bundle), so "pinned"
// never means "shown". A lying tracker serving bob a substitute key for alice, while its presence
// and list_peers show alice's real one, must not get the substitute marked verified by a bare
// `verify alice`; list_peers and members show the pinned key and flag the disagreement. The
// terminal's --json mode refuses a verify without a fingerprint, and its interactive mode shows
// the pinned key, asks, and verifies exactly that one.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { createIdentityKeys } from '../../peer/account.ts';
import { checkIdentity } from '../../protocol/identity.ts';
import { collect, makeEngine, registered, waitFor } from '../helpers/engines.ts';
import { startLyingTracker } from '../helpers/lying-tracker.ts';
import { PEER_ENTRY, PeerProcess, checkPeerBundle } from '../helpers/peer-process.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

const SLOW = { timeout: 180_000 };
const EVENT_MS = 30_000;

test('a lying tracker substitutes alice\'s key for bob: list_peers shows the pin and flags the tracker\'s other key; verify without the compared fingerprint marks nothing', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const lie = await startLyingTracker(t, tracker);
  const fake = await createIdentityKeys('alice');
  const fakeFingerprint = checkIdentity('alice', fake.identity).fingerprint;
  lie.toClient((frame, ctx) => {
    const keys = (frame as { keys?: Record<string, unknown>[] }).keys;
    if (ctx.user === 'bob' && ctx.request?.type === 'get_keys' && Array.isArray(keys)) {
      const swap = (k: Record<string, unknown>) => ({ ...k, ...fake.identity, ...('fingerprint' in k ? { fingerprint: fakeFingerprint } : {}) });
      return { ...frame, keys: keys.map((k) => (k.user === 'alice' ? swap(k) : k)) };
    }
    return frame;
  });
  const alice = await registered(t, lie, 'alice');
  const bob = await registered(t, lie, 'bob');
  const real = alice.fingerprint().fingerprint;
  assert.notEqual(real, fakeFingerprint);
  await bob.sendDirect('alice', 'hi'); // pins the substitute at bob, silently (trust on first use)
  assert.deepEqual(bob.fingerprint('alice'), { user: 'alice', fingerprint: fakeFingerprint, verified: false });

  const warnings = collect(bob, 'error');
  const row = (await bob.listPeers()).find((p) => p.user === 'alice')!;
  assert.equal(row.fingerprint, fakeFingerprint, 'list_peers shows the key pinned (and used) here');
  assert.equal(row.pinned, true);
  assert.equal(row.verified, false);
  assert.equal(row.trackerFingerprint, real, 'and flags that the tracker shows another');
  const flagged = warnings.filter((w) => w.code === 'key_changed' && w.message.includes(real) && w.message.includes(fakeFingerprint));
  assert.equal(flagged.length, 1, `one key_changed warning for the disagreement, not one per listing: ${JSON.stringify(warnings)}`);
  // bob's own row and a user with no disagreement are not flagged.
  assert.equal((await bob.listPeers()).find((p) => p.user === 'bob')!.trackerFingerprint, undefined);

  // What the tester did: compare list_peers' fingerprint with alice, then `verify alice`.
  await assert.rejects(bob.verify('alice'), { code: 'request.invalid', message: /run fingerprint alice/ });
  // The real fingerprint read aloud by alice does not match the substitute: refused.
  await assert.rejects(bob.verify('alice', real), { code: 'key.fingerprint_mismatch' });
  assert.equal(bob.fingerprint('alice').verified, false, 'the substitute key is never marked verified');

  // The honest path still works: carol's key, compared, is verified.
  const carol = await registered(t, lie, 'carol');
  const carolRow = (await bob.listPeers()).find((p) => p.user === 'carol')!;
  assert.equal(carolRow.pinned, false);
  assert.equal(carolRow.trackerFingerprint, undefined);
  await bob.verify('carol', carol.fingerprint().fingerprint);
  assert.equal(bob.fingerprint('carol').verified, true);
});

test('a tracker showing another key in presence than it serves: members shows the pin and flags it, once, like a key change', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const lie = await startLyingTracker(t, tracker);
  const other = checkIdentity('carol', (await createIdentityKeys('carol')).identity).fingerprint;
  lie.toClient((frame, ctx) => (ctx.user === 'bob' && frame.event === 'presence' && frame.user === 'carol' ? { ...frame, fingerprint: other } : frame));
  const bob = await registered(t, lie, 'bob');
  const warned = waitFor(bob, 'error', (e) => e.code === 'key_changed' && e.message.includes(other), EVENT_MS);
  const carol = await registered(t, lie, 'carol'); // bob hears of her from a (lying) presence event
  const real = carol.fingerprint().fingerprint;
  await carol.createRoom('lab');
  await bob.joinRoom('lab'); // pins carol's real key (the log is signed with it)
  const row = bob.members('lab').find((m) => m.user === 'carol')!;
  assert.deepEqual([row.fingerprint, row.verified, row.trackerFingerprint], [real, false, other]);
  assert.equal(bob.members('lab').find((m) => m.user === 'bob')!.trackerFingerprint, undefined);
  await warned;
  await assert.rejects(bob.verify('carol', other), { code: 'key.fingerprint_mismatch' });
  await bob.verify('carol', real);
  assert.equal(bob.fingerprint('carol').verified, true);
});

test('node peer --json: verify without a fingerprint right after a join marks nothing and says what to do', SLOW, async (t) => {
  checkPeerBundle();
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const setup = await registered(t, tracker, 'bob');
  await setup.close();
  await alice.createRoom('lab');
  const bob = new PeerProcess({ tracker: `${tracker.host}:${tracker.port}`, data: setup.dataDir, label: 'bob' });
  t.after(() => bob.stop());
  await bob.waitEvent('ready', () => true, EVENT_MS);
  await bob.ok({ cmd: 'join_room', room: 'lab' });

  const { answer } = await bob.request({ cmd: 'verify', user: 'alice' });
  assert.equal(answer.ok, false);
  assert.equal(answer.error!.code, 'request.invalid');
  assert.match(answer.error!.message, /run fingerprint alice/);
  assert.equal((await bob.ok({ cmd: 'fingerprint', user: 'alice' })).verified, false, 'the pinned key was not marked');
  const peers = (await bob.ok({ cmd: 'list_peers' })).peers as { user: string; fingerprint: string; pinned: boolean; verified: boolean; trackerFingerprint?: string }[];
  const row = peers.find((p) => p.user === 'alice')!;
  assert.deepEqual([row.fingerprint, row.pinned, row.verified, row.trackerFingerprint], [alice.fingerprint().fingerprint, true, false, undefined]);

  await bob.ok({ cmd: 'verify', user: 'alice', fingerprint: alice.fingerprint().fingerprint });
  assert.equal((await bob.ok({ cmd: 'fingerprint', user: 'alice' })).verified, true);
});

/** An interactive `node peer` (stdin a pipe): type lines, await what it prints. */
class Interactive {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private out = '';
  private readonly waiters = new Set<() => void>();

  constructor(t: TestContext, args: string[]) {
    this.child = spawn(process.execPath, [PEER_ENTRY, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.out += chunk.toString('utf8');
      for (const w of this.waiters) w();
    });
    t.after(async () => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return;
      this.child.kill('SIGKILL');
      await this.exited;
    });
  }

  /** What it printed, with whitespace runs as one space (long lines are wrapped and indented). */
  get output(): string {
    return this.out.replace(/\s+/g, ' ');
  }

  type(line: string): void {
    this.child.stdin!.write(line + '\n');
  }

  /** Resolves once stdout holds `text` `times` times. */
  printed(text: string, times = 1): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.output.split(text).length - 1 < times) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`node peer did not print ${JSON.stringify(text)} ${times} time(s) within ${EVENT_MS} ms\n--- stdout ---\n${this.out}`));
      }, EVENT_MS);
      this.waiters.add(check);
      check();
    });
  }
}

test('interactive verify USER shows the pinned fingerprint, asks whether it matches, and verifies exactly that one', SLOW, async (t) => {
  checkPeerBundle();
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const setup = await registered(t, tracker, 'bob');
  await setup.sendDirect('alice', 'hello'); // pins alice's key at bob, silently
  await setup.close();
  const pinned = alice.fingerprint().fingerprint;

  const bob = new Interactive(t, ['--tracker', `${tracker.host}:${tracker.port}`, '--data', setup.dataDir]);
  await bob.printed('Logged in as bob (saved session)');
  bob.type('verify alice');
  await bob.printed('Do they match? [y/N]');
  assert.ok(bob.output.includes(`alice's key as pinned here: ${pinned}`), bob.output);
  bob.type('n');
  await bob.printed("Not verified: alice's key stays unverified.");
  bob.type('fingerprint alice');
  await bob.printed(`alice's fingerprint: ${pinned} (not verified)`);

  bob.type('verify alice');
  await bob.printed('Do they match? [y/N]', 2);
  bob.type('y');
  await bob.printed(`Verified alice: ${pinned}.`);
  bob.type('fingerprint alice');
  await bob.printed(`alice's fingerprint: ${pinned} (verified)`);
  bob.type('exit');
  assert.equal(await bob.exited, 0);

  // The mark is on disk, for the key that was shown.
  const again = await makeEngine(t, tracker, { dataDir: setup.dataDir });
  assert.equal(await again.resume(), true);
  assert.deepEqual(again.fingerprint('alice'), { user: 'alice', fingerprint: pinned, verified: true });
});
