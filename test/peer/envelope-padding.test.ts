// What the tracker's mailbox holds for a member who is away tells nothing by its size
// (protocol/padding.ts, used by peer/sender-key-send.ts): a 👍 reaction, a read receipt, a delete
// and a 5-character message are sealed to the same length, in a direct conversation and in a room.
// Before padding each had its own length (the reaction's emoji and target, the receipt's `upTo`,
// the delete's `of` and the text all sized the ciphertext). A message at the size limit still
// fits (the bucket is capped at the largest ciphertext an envelope carries) and arrives whole.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GCM_TAG_BYTES } from '../../protocol/crypto.ts';
import { messageId } from '../../protocol/message-id.ts';
import { PAD_MIN_BYTES } from '../../protocol/padding.ts';
import { MAX_TEXT_BYTES, type Envelope } from '../../protocol/peer.ts';
import { MAX_CT_BYTES } from '../../peer/sender-keys.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { PASSWORD, makeEngine, roomOf, waitFor } from '../helpers/engines.ts';
import { queryDb } from '../helpers/tracker-accounts-extra.ts';

test('a reaction, a read receipt, a delete and a 5-character message are the same size in the mailbox; a message at the limit still arrives', { timeout: 120_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS, '--mailbox'] });
  const { engines, id } = await roomOf(t, tracker, ['alice', 'carol'], 'padded');
  const { alice, carol } = engines;
  const gone = waitFor(alice, 'presence', (p) => p.user === 'carol' && !p.online);
  await carol.close();
  await gone;

  // Direct conversation: seqs 0..6 (one digit each, so the envelopes' headers are one length too).
  const dm = { user: 'carol' };
  const hi = await alice.sendDirect('carol', 'hi carol, the build is green again');
  const oops = await alice.sendDirect('carol', 'oops, wrong chat');
  const kinds: Record<string, string> = {};
  kinds[(await alice.sendDirect('carol', 'hello')).id] = 'message';
  kinds[(await alice.react(dm, hi.id, '👍')).messageId] = 'reaction';
  kinds[(await alice.markRead(dm, hi.id)).messageId] = 'read receipt';
  kinds[(await alice.deleteMessage(dm, oops.id)).messageId] = 'delete';
  // At the limit: 64 KiB of text, nearly all of it escaped six-fold in the JSON body, so the body's
  // bucket would pass the largest ciphertext an envelope may carry. Capped there, it still goes.
  const limit = 'limit'.padEnd(MAX_TEXT_BYTES, '\u0001');
  const atLimit = await alice.sendDirect('carol', limit);
  // In a room: the same sizes (sender-key sessions are one path for rooms and direct conversations).
  const howdy = await alice.sendRoom(id, 'howdy');
  kinds[howdy.id] = 'room message';
  kinds[(await alice.react({ room: id }, howdy.id, '👍')).messageId] = 'room reaction';
  // Closing lets the deposits finish: then the mailbox holds everything carol lacks.
  await alice.close();

  const rows = await queryDb<{ body: string }>(tracker.dbPath, 'SELECT body FROM mailbox WHERE depositor = ? AND recipient = ? AND seq IS NOT NULL ORDER BY id', 'alice', 'carol');
  const envelopes = rows.map((r) => (JSON.parse(r.body) as { envelope: Envelope }).envelope);
  const byKind = new Map(envelopes.filter((e) => kinds[messageId(e)]).map((e) => [kinds[messageId(e)]!, e]));
  assert.deepEqual([...byKind.keys()].sort(), Object.values(kinds).sort(), 'every one of them waits in the mailbox');
  const ctBytes = (e: Envelope) => Buffer.from(e.ct, 'base64url').length;
  const sizes = Object.fromEntries([...byKind].map(([k, e]) => [k, ctBytes(e)]));
  assert.deepEqual(sizes, Object.fromEntries([...byKind.keys()].map((k) => [k, PAD_MIN_BYTES + GCM_TAG_BYTES])), 'one ciphertext size for all of them');
  const stored = (kind: string) => rows[envelopes.indexOf(byKind.get(kind)!)]!.body.length;
  for (const kind of ['reaction', 'read receipt', 'delete']) assert.equal(stored(kind), stored('message'), `the ${kind} is stored in as many bytes as the message`);
  assert.equal(stored('room reaction'), stored('room message'), 'in the room too');
  const big = envelopes.find((e) => messageId(e) === atLimit.id);
  assert.equal(big && ctBytes(big), MAX_CT_BYTES, 'the message at the limit is padded to the cap, not beyond it');

  // Carol back: the message at the limit arrives byte for byte, and the rest as before.
  const carol2 = await makeEngine(t, tracker, { dataDir: carol.dataDir });
  const arrived = waitFor(carol2, 'message', (m) => m.id === atLimit.id, 60_000);
  const reacted = waitFor(carol2, 'reaction', (r) => r.id === howdy.id, 60_000);
  await carol2.login('carol', PASSWORD);
  assert.equal((await arrived).text, limit);
  assert.equal((await reacted).emoji, '👍');
  const shown = (await carol2.history({ user: 'alice' }, { limit: 50 })).messages.filter((m) => !m.deleted).map((m) => m.text);
  assert.deepEqual(shown, ['hi carol, the build is green again', 'hello', limit]);
  assert.deepEqual(carol2.reads({ user: 'alice' }), [{ user: 'alice', upTo: hi.id, mine: null }], 'none of carol\'s messages was there when alice read');
});
