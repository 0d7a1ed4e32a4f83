// A session key is journalled at once (sessions.jsonl) while the sender's pin goes to state.json
// in the background: a crash between the two left a session held here whose sender had no key,
// and every later message in it failed with an internal error ("publicKey must be a rsa public
// KeyObject") when it came from the mailbox, collected before any presence had the key fetched. The sender's key is now looked up first, as for a
// session key (peer/room-messages.ts onEnvelope), and the message is shown.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { collect, makeEngine, PASSWORD, registered, waitFor } from '../helpers/engines.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { mailboxHolds } from '../helpers/tracker-mailbox.ts';

test("a message in a session held here is shown when its sender's pin was lost in a crash", { timeout: 60_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox'] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const first = waitFor(alice, 'message', (m) => m.text === 'one');
  await bob.sendDirect('alice', 'one');
  await first;
  const dataDir = alice.dataDir;
  await alice.close();
  // The state file as a crash before its write left it: bob not pinned (his session is journalled).
  const path = join(alice.data.userDir('alice'), 'state.json');
  const state = JSON.parse(readFileSync(path, 'utf8')) as { pins: Record<string, unknown> };
  assert.ok(state.pins.bob, 'bob was pinned');
  delete state.pins.bob;
  writeFileSync(path, JSON.stringify(state));
  // bob writes again while she is away: it waits in her mailbox on the tracker.
  await bob.sendDirect('alice', 'two');
  await mailboxHolds(tracker, 'bob', 'alice', 1);
  const again = await makeEngine(t, tracker, { dataDir });
  const errors = collect(again, 'error');
  const second = waitFor(again, 'message', (m) => m.text === 'two');
  await again.login('alice', PASSWORD);
  assert.equal((await second).from, 'bob');
  assert.deepEqual(errors, []);
});

test("a sender's pin is on disk before their first message is shown (a crash then cannot lose it)", { timeout: 60_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const path = join(alice.data.userDir('alice'), 'state.json');
  let pinned: unknown;
  alice.on('message', (m) => {
    if (m.text === 'one') pinned = (JSON.parse(readFileSync(path, 'utf8')) as { pins: Record<string, unknown> }).pins.bob;
  });
  const first = waitFor(alice, 'message', (m) => m.text === 'one');
  await bob.sendDirect('alice', 'one');
  await first;
  assert.ok(pinned, "bob's pin was not in alice's state.json when his message was shown");
});
