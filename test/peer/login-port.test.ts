// A peer port picked at sign-in (port 0) is told to the tracker before the engine listens on it:
// it stays held from the pick until then (peer/sign-in.ts reservePort), so no other program can
// take it meanwhile (before, `listen EADDRINUSE` ended a login now and then in the bench).

import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { PASSWORD, makeEngine } from '../helpers/engines.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

/** Tries to listen on `port` the way another program would: 'listening' or the error code. */
function tryPort(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? String(err)));
    s.listen(port, '0.0.0.0', () => s.close(() => resolve('listening')));
  });
}

for (const how of ['login', 'resume'] as const) {
  test(`${how}: the picked peer port cannot be taken between telling the tracker and listening on it`, { timeout: 60_000 }, async (t) => {
    const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
    let alice = await makeEngine(t, tracker);
    await alice.register('alice', PASSWORD);
    if (how === 'resume') {
      await alice.login('alice', PASSWORD);
      const dataDir = alice.dataDir;
      await alice.close();
      alice = await makeEngine(t, tracker, { dataDir });
    }
    // Another program tries the port right after the tracker was told it.
    const session = (alice as unknown as { tracker: { start: (kind: string, req: { peerPort: number }) => Promise<unknown> } }).tracker;
    const start = session.start.bind(session);
    const tries: { port: number; got: string }[] = [];
    session.start = async (kind, req) => {
      const answer = await start(kind, req);
      tries.push({ port: req.peerPort, got: await tryPort(req.peerPort) });
      return answer;
    };
    if (how === 'login') await alice.login('alice', PASSWORD);
    else assert.equal(await alice.resume('alice'), true);
    assert.deepEqual(tries.map((x) => x.got), ['EADDRINUSE'], 'the port was held');
    assert.equal(alice.peerPort, tries[0]!.port, 'the engine listens on the port it told the tracker');
  });
}
