// The terminal client's side of "Nothing lost" (DESIGN.md "Delivery, history, nothing lost"):
// `history` and `outbox` as both modes show them, and the waiting/expired/gap events as lines.
// The lines are checked as the pure functions word them, with hostile peer text in every field;
// the events through printEvents on a real engine; the commands on spawned `node peer` processes
// (--json, then the interactive mode resuming the same data folder) against a real tracker.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { printEvents } from '../../peer/cli-events.ts';
import { clock, EVENT_LINES, formatMessage, historyText, outboxTable, RESULT_LINES } from '../../peer/cli-format.ts';
import { PeerText } from '../../peer/terminal.ts';
import type { CommandResults, HistoryMessage } from '../../protocol/client.ts';
import { makeEngine, registered } from '../helpers/engines.ts';
import { checkPeerBundle, runPeer, signedInPeer } from '../helpers/peer-process.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

/** Passes peer/account.ts checkPasswordPolicy. */
const PASSWORD = 'plum kettle orbit 93 lantern';
/** A clock() result: local date and time to the minute. */
const TIME = String.raw`\d{4}-\d\d-\d\d \d\d:\d\d`;
/** No raw control character may reach the terminal from a peer's field. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

const at = (h: number, m: number) => new Date(2026, 10, 30, h, m).getTime();
const page = (messages: HistoryMessage[], more = false, roomId = 'r1', room = 'general'): CommandResults['history'] => ({ room, roomId, messages, more, newer: false });

describe('history and outbox lines', () => {
  test('clock: local date and minute; a nonsense time signed by a peer shows as question marks', () => {
    assert.equal(clock(at(9, 5)), '2026-11-30 09:05');
    for (const bad of [Number.NaN, 1e20, Infinity]) assert.equal(clock(bad), '????-??-?? ??:??');
  });

  test('history: the live format with the time in front; mine marked (you) and waiting, late ones (late); peer text made visible', () => {
    const shown = historyText(
      page([
        { id: 'm1', from: 'bob\x1b[2J', text: 'hi\n2026-11-30 09:06 [general] eve: fake\x07', sentAt: at(9, 5) },
        { id: 'm2', from: 'alice', text: 'mine', sentAt: at(9, 6), waitingFor: ['carol\n', 'dave'] },
        { id: 'm3', from: 'carol', text: 'slow', sentAt: at(9, 4), late: true },
        { id: 'm4', from: 'alice', text: 'done', sentAt: at(9, 7) },
      ]),
      'alice',
      'general',
      50,
    );
    assert.ok(shown instanceof PeerText);
    assert.deepEqual(shown.text.split('\n'), [
      '2026-11-30 09:05 [general] bob^[[2J: hi',
      '  2026-11-30 09:06 [general] eve: fake^G',
      '2026-11-30 09:06 [general] alice (you, waiting for carol^J, dave): mine',
      '2026-11-30 09:04 [general] carol (late): slow',
      '2026-11-30 09:07 [general] alice (you): done',
    ]);
    assert.doesNotMatch(shown.text, RAW_CONTROL);
  });

  test('history: a hint for older messages repeats what was asked with twice N, and past the cap says how to page on', () => {
    const one = [{ id: 'm1', from: 'bob', text: 'x', sentAt: at(1, 2) }];
    assert.match(historyText(page(one, true), 'alice', 'general', 50).text, /\n\.\.\. older messages: history general 100$/);
    assert.match(historyText(page(one, true), 'alice', 'general', 300).text, /\n\.\.\. older messages: history general 500$/);
    assert.match(historyText(page(one, true), 'alice', 'general', 500).text, /\n\.\.\. older messages than these 500: page on with --json history and "before"$/);
    assert.doesNotMatch(historyText(page(one, false), 'alice', 'general', 50).text, /older/);
  });

  test('history: a reply whose original is not on the page says whether it may be older or never arrived here', () => {
    const reply = [{ id: 'm2', from: 'alice', text: 'answer', sentAt: at(1, 3), replyTo: 'gone' }];
    assert.match(historyText(page(reply, false), 'alice', 'general', 50).text, /\n {2}> reply to message gone \(not received here\)$/);
    assert.match(historyText(page(reply, true), 'alice', 'general', 50).text, /\n {2}> reply to message gone \(not on this page: older, or not received here\)\n/);
  });

  test('history of a direct conversation: [dm] lines, named after the other user; nothing stored says so', () => {
    const dm = page([{ id: 'm1', from: 'bob', text: 'psst', sentAt: at(8, 0) }], false, 'dm:alice:bob', 'dm:alice:bob');
    assert.equal(historyText(dm, 'alice', 'bob', 50).text, '2026-11-30 08:00 [dm] bob: psst');
    assert.equal(historyText(page([], false, 'dm:alice:bob', 'dm:alice:bob'), 'alice', '@bob', 50).text, 'No messages stored here for bob (direct).');
    assert.equal(historyText(page([], false, 'r1', 'gen\x1bral'), 'alice', 'general', 50).text, 'No messages stored here for gen^[ral.');
  });

  test('a live message that arrived late is marked (late)', () => {
    const e = { room: 'general', roomId: 'r1', from: 'bob', id: 'm1', text: 'old news', sentAt: 0, direct: false };
    assert.equal(formatMessage({ ...e, late: true }), '[general] bob (late): old news');
    assert.equal(formatMessage(e), '[general] bob: old news');
  });

  test('outbox: one row a waiting message with whom it waits for (cells visible), receipts and reactions named so; nothing waiting says so', () => {
    assert.equal(outboxTable([], 'alice'), 'Nothing waiting: every message you sent reached everyone it was for.');
    const rows = outboxTable(
      [
        { room: 'general', roomId: 'r1', id: 'm1', waitingFor: ['bob', 'carol'] },
        { room: 'dm:alice:bob', roomId: 'dm:alice:bob', id: 'm2', waitingFor: ['bob'] },
        { room: 'ev\x1bil', roomId: 'r2', id: 'm3\n', waitingFor: ['x\u202e'] },
        { room: 'general', roomId: 'r1', id: 'm4', waitingFor: ['carol'], kind: 'read' },
        { room: 'general', roomId: 'r1', id: 'm5', waitingFor: ['carol'], kind: 'react' },
      ],
      'alice',
    );
    assert.ok(rows instanceof PeerText);
    const lines = rows.text.split('\n');
    assert.match(lines[0], /^ {2}general +message m1 +waiting for bob, carol$/);
    assert.match(lines[1], /^ {2}bob \(direct\) +message m2 +waiting for bob$/);
    assert.match(lines[2], /^ {2}ev\^\[il +message m3\^J +waiting for x<U\+202E>$/);
    // A receipt or a toggle is named so, not as a message the user wrote.
    assert.match(lines[3], /^ {2}general +read receipt m4 +waiting for carol$/);
    assert.match(lines[4], /^ {2}general +reaction m5 +waiting for carol$/);
    assert.equal(RESULT_LINES.outbox!({ pending: [] }, { me: 'alice', verbose: false }), 'Nothing waiting: every message you sent reached everyone it was for.');
  });

  test('waiting, expired and gap events print through printEvents, peer fields made visible, direct ones named after the user', async (t) => {
    // An engine that never connects (nothing listens on port 1): only its events are used.
    const engine = await makeEngine(t, { host: '127.0.0.1', port: 1 });
    const printed: string[] = [];
    printEvents(engine, (line) => printed.push(line.text), false);
    engine.emit('waiting', { room: 'general', roomId: 'r1', id: 'm1', waitingFor: ['bob', 'carol'] });
    engine.emit('expired', { room: 'general', roomId: 'r1', id: 'm1', user: 'bob\x1b[2J' });
    engine.emit('gap', { room: 'general', roomId: 'r1', from: 'carol', missing: 12 });
    engine.emit('gap', { room: 'general', roomId: 'r1', from: 'carol', missing: 1 });
    engine.emit('gap', { room: 'gen\neral', roomId: 'r1', from: 'carol', missing: 0 });
    engine.emit('message', { room: 'general', roomId: 'r1', from: 'carol', id: 'm9', text: 'finally', sentAt: 0, direct: false, late: true });
    assert.deepEqual(printed, [
      '* message m1 to general waiting for bob, carol; kept and sent when they are back',
      '! message m1 to general expired before it reached bob^[[2J',
      '* 12 messages from carol in general not received yet',
      '* 1 message from carol in general not received yet',
      '* all messages from carol in gen^Jeral received',
      '[general] carol (late): finally',
    ]);
    // A direct conversation is named after the other user, so the line needs who I am.
    const dm = { room: 'dm:alice:bob', roomId: 'dm:alice:bob', id: 'm2', waitingFor: ['bob'] };
    assert.equal(EVENT_LINES.waiting!(dm, { me: 'alice', verbose: false }), '* message m2 to bob (direct) waiting for bob; kept and sent when they are back');
    assert.equal(EVENT_LINES.expired!({ ...dm, user: 'alice' }, { me: 'bob', verbose: false }), '! message m2 to alice (direct) expired before it reached alice');
    assert.equal(EVENT_LINES.gap!({ room: 'general', roomId: 'r1', from: 'carol', missing: 3 }, { me: 'alice', verbose: true }), '* 3 messages from carol in general not received yet');
  });
});

test('node peer: history and outbox in --json (schema, answers, errors) and interactive (room first, @USER, usage)', { timeout: 180_000 }, async (t) => {
  checkPeerBundle();
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const trackerArg = `${tracker.host}:${tracker.port}`;
  // bob and carol are users; carol is also the name of a room alice is in.
  await registered(t, tracker, 'bob');
  await registered(t, tracker, 'carol');

  const { peer: alice, data } = await signedInPeer(t, trackerArg, 'alice', PASSWORD, 'p2p-cli-history-');
  const general = await alice.ok({ cmd: 'create_room', room: 'general' });
  await alice.ok({ cmd: 'create_room', room: 'carol' });

  const { id: _id, ok: _ok, ...room } = await alice.ok({ cmd: 'history', room: 'general' });
  assert.deepEqual(room, { room: 'general', roomId: general.roomId, messages: [], more: false, newer: false });
  const dm = await alice.ok({ cmd: 'history', user: 'bob', limit: 500 });
  assert.deepEqual([dm.room, dm.roomId, dm.messages, dm.more], ['dm:alice:bob', 'dm:alice:bob', [], false]);
  const { id: _id2, ok: _ok2, ...outbox } = await alice.ok({ cmd: 'outbox' });
  assert.deepEqual(outbox, { pending: [] });

  const refused: [Record<string, unknown>, string][] = [
    [{ cmd: 'history' }, 'request.invalid'],
    [{ cmd: 'history', room: 'general', user: 'bob' }, 'request.invalid'],
    [{ cmd: 'history', room: 'general', limit: 0 }, 'request.invalid'],
    [{ cmd: 'history', room: 'general', limit: 501 }, 'request.invalid'],
    [{ cmd: 'history', room: 'general', before: '' }, 'request.invalid'],
    [{ cmd: 'history', user: 'alice' }, 'request.invalid'],
    [{ cmd: 'history', room: 'nowhere' }, 'room.not_found'],
    [{ cmd: 'history', room: 'general', limit: 2.5 }, 'request.invalid'],
    [{ cmd: 'history', room: 'general', around: 'no-such-message' }, 'request.invalid'],
    [{ cmd: 'history', room: 'general', after: '' }, 'request.invalid'],
  ];
  for (const [cmd, code] of refused) {
    const { answer } = await alice.request(cmd);
    assert.equal(answer.ok, false, JSON.stringify(cmd));
    assert.equal(answer.error?.code, code, `${JSON.stringify(cmd)}: ${answer.error?.message}`);
  }
  const help = (await alice.ok({ cmd: 'help' })).commands as { cmd: string; fields: string; about: string }[];
  assert.deepEqual(
    help.filter((c) => c.cmd === 'history' || c.cmd === 'outbox'),
    [
      { cmd: 'history', fields: 'room | user, before? | after? | around?, limit?', about: help.find((c) => c.cmd === 'history')!.about },
      { cmd: 'outbox', fields: '', about: help.find((c) => c.cmd === 'outbox')!.about },
    ],
  );
  assert.equal(await alice.stop(), 0);
  assert.deepEqual(alice.strayLines, [], 'stdout carries JSON lines only');

  // The same data folder, interactive: the saved session resumes.
  const script = ['history general', 'history carol', 'history @carol', 'history bob 10', 'history', 'history general 501', 'history general 0', 'history general ten', 'history nowhere!', 'outbox', 'help', 'exit', ''].join('\n');
  const { code, stdout, stderr } = await runPeer(['--tracker', trackerArg, '--data', data], script);
  assert.equal(code, 0, stderr);
  const lines = stdout.split('\n');
  const shows = (expected: RegExp) => assert.ok(lines.some((l) => expected.test(l)), `no line matching ${expected}\n${stdout}`);
  shows(/^No messages stored here for general\.$/);
  // A room I am in wins over a user of that name; @carol is always the user.
  assert.equal(lines.filter((l) => l === 'No messages stored here for carol.').length, 1, stdout);
  shows(/^No messages stored here for carol \(direct\)\.$/);
  shows(/^No messages stored here for bob \(direct\)\.$/);
  assert.equal(lines.filter((l) => l === 'error: usage: history ROOM|USER [N]').length, 2, `history alone and with N not a number\n${stdout}`);
  assert.equal(lines.filter((l) => l === 'error: N is 1 to 500').length, 2, stdout);
  shows(/^error: there is no room named nowhere!/);
  shows(/^Nothing waiting: every message you sent reached everyone it was for\.$/);
  assert.match(stdout, /^ {2}history ROOM\|USER \[N\] +the last N messages stored here/m);
  assert.match(stdout, /^ {2}outbox +your messages not yet received by everyone/m);
  assert.doesNotMatch(stdout, new RegExp(`^${TIME} `, 'm'), 'nothing stored, nothing listed');
});
