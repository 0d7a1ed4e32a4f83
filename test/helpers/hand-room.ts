// A room of alice and bob on a real tracker where alice's client is then played by the test:
// her keys and the room's head are saved, her engine closed, and a HandSession of hers sends what
// the test makes, in the order it chooses, over a real link to bob (orders catch-up never makes).

import type { TestContext } from 'node:test';
import { roomOf, type TestEngine } from './engines.ts';
import { HandSession, linkTo, savedHead, savedKeys, type AccountKeys } from './proxy.ts';
import { FAST_TRACKER_ARGS, startTracker } from './tracker-process.ts';

/** Room `name` of alice and bob, alice's engine closed: her keys, bob's, and the room's head to play her by hand. */
export async function roomWithAliceByHand(t: TestContext, name: string): Promise<{ bob: TestEngine; id: string; keys: { alice: AccountKeys; bob: AccountKeys }; head: ReturnType<typeof savedHead> }> {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'bob'], name);
  const { alice, bob } = engines;
  const keys = { alice: savedKeys(alice, 'alice'), bob: savedKeys(bob, 'bob') };
  const head = savedHead(alice, id);
  await alice.close();
  return { bob, id, keys, head };
}

/** roomWithAliceByHand, then alice's HandSession linked to bob with her session key sent. */
export async function aliceLinkedByHand(t: TestContext, name: string) {
  const { bob, id, keys, head } = await roomWithAliceByHand(t, name);
  const hand = new HandSession(keys.alice, id, head, [keys.bob]);
  const link = await linkTo(t, bob, keys.alice, keys.bob);
  link.send({ t: 'session', bundle: hand.bundle });
  return { bob, id, keys, hand, link };
}
