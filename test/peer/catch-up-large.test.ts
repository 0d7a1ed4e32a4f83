// A member away while many large messages are sent (a bot posting logs, pasted files) gets them
// all when back: catch-up paces itself by the bytes waiting on the link (CATCH_UP_QUEUE_BYTES),
// not only by count, so it never overflows the link's 8 MiB slow-consumer limit (which closed
// the link and sent nothing, at every later try too).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PASSWORD, makeEngine, messagesShown, roomOf, waitFor } from '../helpers/engines.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

const COUNT = 150;
const SIZE = 60_000; // 150 × 60 KB: about 9 MB of envelopes, over the link's 8 MiB queue limit

test('a member back from being away gets every one of more large messages than a link can queue', { timeout: 120_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], 'logs');
  const { alice, bob } = engines;
  const gone = waitFor(alice, 'presence', (p) => p.user === 'bob' && p.online === false);
  await bob.close();
  await gone;
  const texts: string[] = [];
  for (let i = 0; i < COUNT; i++) {
    const text = `${i} ${'z'.repeat(SIZE)}`;
    texts.push(text);
    await alice.sendRoom(id, text);
  }

  const bob2 = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  const got = messagesShown(bob2, COUNT, (m) => m.roomId === id && m.from === 'alice', 60_000);
  await bob2.login('bob', PASSWORD);
  const shown = await got;
  assert.deepEqual(shown.map((m) => m.text).sort(), [...texts].sort());
});
