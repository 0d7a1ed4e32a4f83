// The terminal client's commands on messages (issue 12), over a spawned `node peer`: `--json`
// reply, react, edit, delete, mark_read and search against a real engine (bob), with the events
// they cause on each side; then the interactive client on the same data folder: `react ROOM -N`,
// `search TEXT`, and history showing the reply's quote, the reactions, "edited" and a deleted one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registered, waitFor } from '../helpers/engines.ts';
import { checkPeerBundle, runPeer, signedInPeer } from '../helpers/peer-process.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

const PASSWORD = 'plum kettle orbit 93 lantern';

test('node peer: reply, react, edit, delete, mark_read and search in --json and typed', { timeout: 180_000 }, async (t) => {
  checkPeerBundle();
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const trackerArg = `${tracker.host}:${tracker.port}`;
  const bob = await registered(t, tracker, 'bob');
  const { id } = await bob.createRoom('general');

  const { peer: alice, data } = await signedInPeer(t, trackerArg, 'alice', PASSWORD, 'p2p-cli-actions-');
  // Bob sends only once he has seen alice join: a message sent before is for the members before her.
  const joined = waitFor(bob, 'member_joined', (e) => e.user === 'alice');
  await alice.ok({ cmd: 'join_room', room: 'general' });
  await joined;

  const atAlice = alice.waitEvent('message', (e) => e.from === 'bob' && e.text === 'standup moved to 10');
  const question = await bob.sendRoom(id, 'standup moved to 10');
  await atAlice;

  // reply: bob's engine gets it with replyTo.
  const replied = waitFor(bob, 'message', (m) => m.text === 'works for me');
  const reply = await alice.ok({ cmd: 'reply', room: 'general', to: question.id, text: 'works for me' });
  assert.equal((await replied).replyTo, question.id);
  assert.equal(reply.roomId, id);

  // react on, then off.
  let reacted = waitFor(bob, 'reaction', (r) => r.on);
  await alice.ok({ cmd: 'react', room: 'general', messageId: question.id, emoji: '👍' });
  assert.deepEqual(await reacted, { room: 'general', roomId: id, id: question.id, user: 'alice', emoji: '👍', on: true });
  reacted = waitFor(bob, 'reaction', (r) => !r.on);
  await alice.ok({ cmd: 'react', room: 'general', messageId: question.id, emoji: '👍', on: false });
  await reacted;
  const notEmoji = await alice.request({ cmd: 'react', room: 'general', messageId: question.id, emoji: 'yes' });
  assert.equal(notEmoji.answer.error?.code, 'request.invalid');

  // edit and delete my own; someone else's is refused with its code.
  const edited = waitFor(bob, 'edited', (e) => e.id === reply.messageId);
  await alice.ok({ cmd: 'edit', room: 'general', messageId: reply.messageId as string, text: 'works for me, see you there' });
  assert.equal((await edited).text, 'works for me, see you there');
  const notMine = await alice.request({ cmd: 'edit', room: 'general', messageId: question.id, text: 'x' });
  assert.equal(notMine.answer.error?.code, 'message.not_author');
  const oops = await alice.ok({ cmd: 'msg_room', room: 'general', text: 'ignore this one' });
  const deleted = waitFor(bob, 'deleted', (e) => e.id === oops.messageId);
  await alice.ok({ cmd: 'delete', room: 'general', messageId: oops.messageId as string });
  await deleted;

  // Events on alice's side: bob's reaction, edit, delete and read receipt.
  const ev = {
    reaction: alice.waitEvent('reaction', (e) => e.user === 'bob'),
    edited: alice.waitEvent('edited', (e) => e.id === question.id),
    read: alice.waitEvent('read', (e) => e.user === 'bob'),
  };
  await bob.react({ room: id }, reply.messageId as string, '🎉');
  await bob.edit({ room: id }, question.id, 'standup moved to 10:30');
  await bob.markRead({ room: id }, reply.messageId as string);
  assert.deepEqual({ ...(await ev.reaction).event }, { event: 'reaction', room: 'general', roomId: id, id: reply.messageId, user: 'bob', emoji: '🎉', on: true });
  assert.equal((await ev.edited).event.text, 'standup moved to 10:30');
  assert.equal((await ev.read).event.upTo, reply.messageId);
  await alice.ok({ cmd: 'mark_read', room: 'general', upTo: question.id });

  // history rows carry the state; search finds the edited text.
  const page = await alice.ok({ cmd: 'history', room: 'general' });
  const rows = page.messages as { id: string; text: string; replyTo?: string; reactions?: unknown; edited?: boolean; deleted?: boolean }[];
  assert.deepEqual(rows.map((m) => [m.id, m.text, m.replyTo ?? null, m.reactions ?? null, m.edited ?? false, m.deleted ?? false]), [
    [question.id, 'standup moved to 10:30', null, null, true, false],
    [reply.messageId, 'works for me, see you there', question.id, [{ emoji: '🎉', users: ['bob'] }], true, false],
    [oops.messageId, '', null, null, false, true],
  ]);
  const found = await alice.ok({ cmd: 'search', query: 'see you' });
  assert.deepEqual((found.results as { id: string; room: string; from: string }[]).map((r) => [r.id, r.room, r.from]), [[reply.messageId, 'general', 'alice']]);
  assert.equal(found.searchedFrom, undefined, 'the index is not full: nothing says older messages were skipped');
  assert.deepEqual((await alice.ok({ cmd: 'search', query: 'ignore' })).results, [], 'a deleted message is not found');
  assert.equal(await alice.stop(), 0);

  // Typed: react to the newest message with -1, search, and history shows it all.
  const typed = ['react general -2 🚀', 'search standup', 'history general', 'delete general -2', 'exit', ''].join('\n');
  const reactedTyped = waitFor(bob, 'reaction', (r) => r.emoji === '🚀');
  const { code, stdout, stderr } = await runPeer(['--tracker', trackerArg, '--data', data], typed);
  assert.equal(code, 0, stderr);
  assert.equal((await reactedTyped).id, reply.messageId, '-2: the second newest message');
  assert.match(stdout, new RegExp(`general\\s+bob:\\s+standup moved to 10:30\\s+${question.id}`), 'search prints where, who, the text and the id');
  assert.doesNotMatch(stdout, /not in the search index/, 'nor does the typed search: the index is not full');
  assert.match(stdout, /\[general\] alice \(you, edited\): works for me, see you there\n {2}> bob: standup moved to 10:30\n {2}🎉 bob {2}🚀 alice/);
  assert.match(stdout, /\[general\] alice \(you\): \(message deleted\)/);
  assert.match(stdout, /\nDeleted in general: each member who receives the delete shows "message deleted"/, '-2 after the reaction: my reply, deleted');
});
