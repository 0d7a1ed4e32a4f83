// A reply that arrives before the message it answers (catch-up and forwarding bring messages in
// any order), in extension/chat-model.ts over a real engine, with alice played by hand over a real
// link: shown first with the quote "original not loaded", it is quoted again (message/updated)
// as soon as the original arrives.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messageId } from '../../protocol/message-id.ts';
import { encryptMessage } from '../../peer/sender-keys.ts';
import type { HostToView } from '../../protocol/view.ts';
import { waitFor } from '../helpers/engines.ts';
import { aliceLinkedByHand } from '../helpers/hand-room.ts';
import { lookingAt, modelOf } from '../helpers/chat-model-scene.ts';

test('a reply shown before its original is quoted again when the original arrives', { timeout: 120_000 }, async (t) => {
  const { bob, id, hand, link, keys } = await aliceLinkedByHand(t, 'ops');
  const { model, posted } = await modelOf(bob, { attention: () => lookingAt(id) });
  await model.openConversation(id);
  const original = hand.envelope('the deploy is at 5');
  const reply = encryptMessage(hand.session, 'alice', keys.alice.signingKey, { time: Date.now(), text: 'moved to 6, see above', replyTo: messageId(original) });
  const replyId = messageId(reply);

  const replyShown = waitFor(bob, 'message', (x) => x.id === replyId);
  link.send({ t: 'envelope', envelope: reply });
  await replyShown;
  const added = posted.find((p) => p.type === 'timeline/added' && p.item.kind === 'message' && p.item.id === replyId) as Extract<HostToView, { type: 'timeline/added' }> | undefined;
  assert.deepEqual(added?.item.kind === 'message' && added.item.replyTo, { id: messageId(original) }, 'first shown as "original not loaded"');

  const originalShown = waitFor(bob, 'message', (x) => x.id === messageId(original));
  link.send({ t: 'envelope', envelope: original });
  await originalShown;
  const updated = posted.filter((p): p is Extract<HostToView, { type: 'message/updated' }> => p.type === 'message/updated' && p.message.id === replyId);
  assert.equal(updated.length, 1, 'the reply is posted again once');
  assert.deepEqual(updated[0]!.message.replyTo, { id: messageId(original), from: 'alice', excerpt: 'the deploy is at 5' });
  assert.equal(updated[0]!.message.text, 'moved to 6, see above');
});
