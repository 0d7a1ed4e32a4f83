// What a member can make every other member keep through edits is bounded (attacker pass), with a
// real tracker, a real engine and a hand-made client over a real link (a modified client's edits,
// which our engine would refuse to send): edits of 60 KB naming no message are kept only as the
// sender's newest few and the others' held envelopes tombstoned (never served, their text gone
// from the store); an author's edits of one message past MAX_EDITS_NAMED are neither kept, shown
// nor served. Before, bob kept and served every one of them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_PENDING_ACTIONS } from '../../peer/history.ts';
import { encryptMessage } from '../../peer/sender-keys.ts';
import { MAX_EDITS_NAMED, type MessageAction } from '../../protocol/message-actions.ts';
import { messageId } from '../../protocol/message-id.ts';
import { collect, waitFor } from '../helpers/engines.ts';
import { storeOf } from '../helpers/conversation.ts';
import { aliceLinkedByHand } from '../helpers/hand-room.ts';

test(`a member's edits naming no message are kept as their newest ${MAX_PENDING_ACTIONS.edit}, and edits past the ${MAX_EDITS_NAMED}th of a message not at all`, async (t) => {
  const { bob, id, keys, hand, link } = await aliceLinkedByHand(t, 'ops');
  const action = (a: MessageAction, text = '') => encryptMessage(hand.session, 'alice', keys.alice.signingKey, { time: Date.now(), text, action: a });
  const shown: string[] = [];
  bob.on('edited', (e) => shown.push(e.text));
  const errors = collect(bob, 'error');
  const m = hand.envelope('build status: pending');
  const hidden = Array.from({ length: 20 }, (_, i) => action({ t: 'edit', of: `made-up-${i}` }, 'x'.repeat(60_000) + i));
  const edits = Array.from({ length: MAX_EDITS_NAMED + 2 }, (_, i) => action({ t: 'edit', of: messageId(m) }, `build status: step ${i + 1}`));
  const marker = waitFor(bob, 'message', (x) => x.text === 'marker');
  for (const envelope of [m, ...hidden, ...edits, hand.envelope('marker')]) link.send({ t: 'envelope', envelope });
  await marker;

  const { db, held } = storeOf(bob);
  const kept = db.all(`SELECT seq FROM messages WHERE conversation = ? AND kind = 'edit' AND sender = 'alice' ORDER BY seq`, [id]).map((r) => Number(r.seq));
  const served = new Set(held.after(id, 'alice', hand.session.session, -1, 200).map((e) => e.seq));
  const hiddenSeqs = hidden.map((e) => e.seq);
  const editSeqs = edits.map((e) => e.seq);
  assert.deepEqual(kept, [...hiddenSeqs.slice(-MAX_PENDING_ACTIONS.edit), ...editSeqs.slice(0, MAX_EDITS_NAMED)], 'rows kept');
  assert.deepEqual(hiddenSeqs.filter((s) => served.has(s)), hiddenSeqs.slice(-MAX_PENDING_ACTIONS.edit), 'the hidden edits dropped are not served');
  assert.deepEqual(editSeqs.filter((s) => served.has(s)), editSeqs.slice(0, MAX_EDITS_NAMED), 'the edits past the limit are not served');
  // Tombstones: what is held of them is an empty body (their text is gone from bob's store).
  const bytes = new Map(db.all(`SELECT seq, length(body) AS n FROM envelopes WHERE room = ? AND sender = 'alice' AND session = ?`, [id, hand.session.session]).map((r) => [Number(r.seq), Number(r.n)]));
  const dropped = [...hiddenSeqs.slice(0, -MAX_PENDING_ACTIONS.edit), ...editSeqs.slice(MAX_EDITS_NAMED)];
  assert.deepEqual(dropped.map((s) => bytes.get(s)), dropped.map(() => 0), 'the dropped edits are held as tombstones');
  assert.ok(hiddenSeqs.slice(-MAX_PENDING_ACTIONS.edit).every((s) => bytes.get(s)! > 60_000));

  assert.equal(shown.length, MAX_EDITS_NAMED, 'edits past the limit are never shown');
  assert.deepEqual(errors.map((e) => e.code), ['request.invalid', 'request.invalid']);
  for (const e of errors) assert.match(e.message, new RegExp(`ignored an edit from alice in ops: they edited that message ${MAX_EDITS_NAMED} times already`));
  assert.equal(shown.at(-1), `build status: step ${MAX_EDITS_NAMED}`);
  assert.equal(bob.message({ room: id }, messageId(m))?.text, `build status: step ${MAX_EDITS_NAMED}`);
});
