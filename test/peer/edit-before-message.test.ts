// An author's edit may arrive before its message (catch-up and forwarding bring them in any order):
// the message is then shown with its current text, never the one its author had replaced (the
// terminal's scrollback, a --json bot, a notification preview would keep it), and `edited` follows.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messageId } from '../../protocol/message-id.ts';
import { encryptMessage } from '../../peer/sender-keys.ts';
import { collect, waitFor } from '../helpers/engines.ts';
import { aliceLinkedByHand } from '../helpers/hand-room.ts';

test('a message whose edit came first is shown with the edited text, never the replaced one', { timeout: 60_000 }, async (t) => {
  const { bob, id, hand, link, keys } = await aliceLinkedByHand(t, 'ops');
  const m = hand.envelope('prod db: postgres://admin:Hunter2-PASSWORD@db-7');
  const edit = encryptMessage(hand.session, 'alice', keys.alice.signingKey, { time: Date.now(), text: 'prod db: see the vault', action: { t: 'edit', of: messageId(m) } });
  const messages = collect(bob, 'message');
  const edited = waitFor(bob, 'edited', (e) => e.id === messageId(m));
  // One link's messages are handled in order: the edit first.
  link.send({ t: 'envelope', envelope: edit });
  link.send({ t: 'envelope', envelope: m });
  assert.equal((await edited).text, 'prod db: see the vault');
  assert.deepEqual(messages.map((x) => [x.id, x.text]), [[messageId(m), 'prod db: see the vault']]);
  const h = await bob.history({ room: id });
  assert.deepEqual(h.messages.map((x) => [x.text, x.edited]), [['prod db: see the vault', true]]);
});
