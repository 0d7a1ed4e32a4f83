// Blank messages (issue 7, item 10): refused by the engine for every client (rooms, direct
// messages, snippets without code), and never shown when a modified client sends one anyway.
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { test } from 'node:test';
import { fromBase64Url, importPrivateKey } from '../../protocol/crypto.ts';
import { DM_HEAD, dmRoom } from '../../protocol/peer.ts';
import { messageId } from '../../protocol/message-id.ts';
import { connectLink } from '../../peer/link.ts';
import { encryptMessage, makeBundle, newOutboundSession } from '../../peer/sender-keys.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';
import { collect, registered, waitFor } from '../helpers/engines.ts';

const SLOW = { timeout: 180_000 };
const BLANKS = ['', '   ', '\n\t ', '\u200b', ' \u200b\u00a0\u3000\r\n', '\u2060\ufeff\u200d', '\u3164'];

test('the engine refuses blank messages to rooms and users, and snippets with neither text nor code', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  await alice.createRoom('ops');
  const joined = waitFor(alice, 'member_joined', (e) => e.user === 'bob');
  await bob.joinRoom('ops');
  await joined;
  const got = collect(bob, 'message');

  for (const text of BLANKS) {
    await assert.rejects(alice.sendRoom('ops', text), { code: 'message.blank', message: /empty or only spaces/ }, JSON.stringify(text));
    await assert.rejects(alice.sendDirect('bob', text), { code: 'message.blank' }, JSON.stringify(text));
  }
  const blankSnippet = { language: 'ts', path: 'a.ts', startLine: 1, endLine: 1, code: ' \n ' };
  await assert.rejects(alice.sendRoom('ops', '', blankSnippet), { code: 'message.blank' });

  // Text that shows something, or a snippet with code and no text, goes out.
  const marker = waitFor(bob, 'message', (m) => m.text === '.');
  const code = waitFor(bob, 'message', (m) => m.snippet?.code === 'x = 1');
  assert.equal((await alice.sendRoom('ops', '', { ...blankSnippet, code: 'x = 1' })).recipients, 1);
  assert.equal((await alice.sendDirect('bob', '.')).recipients, 1);
  await Promise.all([marker, code]);
  assert.equal(got.length, 2, 'only the two real messages arrived');
  assert.ok(got.every((m) => m.text === '.' || m.snippet?.code === 'x = 1'));
});

test('a modified client that sends a blank message anyway: the receiver does not show it', SLOW, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  // bob knows alice (a first message pins her key); mallory's client runs as alice with her keys.
  const first = waitFor(bob, 'message', (m) => m.text === 'hi');
  await alice.sendDirect('bob', 'hi');
  await first;
  const saved = alice.data.account('alice')!;
  const signing = importPrivateKey(fromBase64Url(saved.signingKey));
  const bobKeys = { signing: bob.data.account('bob')!.signingKey, encryption: bob.data.account('bob')!.encryptionKey };
  const bobSigningPublic = createPublicKey(importPrivateKey(fromBase64Url(bobKeys.signing)));
  const bobEncryptionPublic = createPublicKey(importPrivateKey(fromBase64Url(bobKeys.encryption)));

  const shown = collect(bob, 'message');
  const refusedBlank = collect(bob, 'error');
  const link = await connectLink({
    host: '127.0.0.1',
    port: bob.peerPort,
    me: { user: 'alice', signingKey: signing },
    remoteUser: 'bob',
    pinnedKey: async (u) => (u === 'bob' ? bobSigningPublic : undefined),
  });
  t.after(() => link.close());
  const session = newOutboundSession(dmRoom('alice', 'bob'), DM_HEAD, Date.now());
  const bundle = makeBundle(session, 'alice', signing, [{ user: 'bob', encryptionKey: bobEncryptionPublic }]);
  link.send({ t: 'session', bundle });
  for (const text of BLANKS) {
    link.send({ t: 'envelope', envelope: encryptMessage(session, 'alice', signing, { time: Date.now(), text }) });
  }
  const markerEnvelope = encryptMessage(session, 'alice', signing, { time: Date.now(), text: 'after the blanks' });
  const markerId = messageId(markerEnvelope);
  const marker = waitFor(bob, 'message', (m) => m.id === markerId, 30_000);
  link.send({ t: 'envelope', envelope: markerEnvelope });
  await marker;
  assert.deepEqual(shown.map((m) => m.text), ['after the blanks'], 'no blank message was shown');
  assert.equal(refusedBlank.filter((e) => e.code === 'message.blank').length, BLANKS.length, 'each blank one was reported as ignored');
});
