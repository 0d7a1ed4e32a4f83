// peer/cli-format.ts on its own: tables of command results, event lines, the command help.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { COMMANDS } from '../../peer/cli-commands.ts';
import { commandHelp, connectionLine, EVENT_LINES, fingerprintLine, keyWarning, linksTable, membersTable, peersTable, RESULT_LINES, roomsTable, table } from '../../peer/cli-format.ts';
import { PeerText } from '../../peer/terminal.ts';
import type { ClientEvents, PeerRow } from '../../protocol/client.ts';

const FP = 'AAAA BBBB CCCC DDDD EEEE FFFF';
const OTHER = '1111 2222 3333 4444 5555 6666';

/** The text of a PeerText (a table), asserting that it is one. */
function peerText(shown: PeerText | string): string {
  assert.ok(shown instanceof PeerText, `peer text expected, got ${JSON.stringify(shown)}`);
  return shown.text;
}

describe('table', () => {
  test('columns line up by terminal width (wide characters count 2), rows are indented, cells are made visible', () => {
    const text = peerText(table([['李明', 'x'], ['bob', 'y'], ['e\x1b[2Jve' + ' '.repeat(20) + '[dm] x', 'z']]));
    const third = 'e^[[2Jve<20 spaces>[dm] x'; // 25 columns: the first column's width
    assert.deepEqual(text.split('\n'), [`  李明${' '.repeat(25 - 4 + 2)}x`, `  bob${' '.repeat(25 - 3 + 2)}y`, `  ${third}  z`]);
  });
});

describe('command result tables', () => {
  const peer = (p: Partial<PeerRow> & { user: string }): PeerRow => ({ online: false, fingerprint: FP, pinned: true, verified: false, ...p });

  test('list_peers: me, verified, unpinned, a changed key, the tracker disagreeing', () => {
    assert.equal(peersTable([], 'alice'), 'Nobody is registered yet.');
    const rows = peerText(
      peersTable(
        [
          peer({ user: 'alice', online: true, address: '127.0.0.1', port: 4000, verified: true }),
          peer({ user: 'bob', online: true, address: '127.0.0.2', verified: true }),
          peer({ user: 'carol', pinned: false }),
          peer({ user: 'dave', changedTo: OTHER }),
          peer({ user: 'eve', trackerFingerprint: OTHER }),
        ],
        'alice',
      ),
    ).split('\n');
    assert.match(rows[0], /^ {2}alice \(you\) +online +127\.0\.0\.1:4000 +key AAAA BBBB CCCC DDDD\.\.\.$/);
    assert.match(rows[1], /^ {2}bob +online +127\.0\.0\.2:\? +key AAAA .* verified$/);
    assert.match(rows[2], /carol +offline +key AAAA .* not pinned yet$/);
    assert.match(rows[3], /dave .* not verified +! KEY CHANGED to 1111 2222 3333 4444\.\.\.$/);
    assert.match(rows[4], /eve .* ! TRACKER SHOWS ANOTHER KEY 1111 2222 3333 4444\.\.\.: compare out of band$/);
  });

  test('keyWarning: a pending change is said before the tracker disagreeing; nothing when neither', () => {
    assert.equal(keyWarning({}), '');
    assert.match(keyWarning({ changedTo: OTHER, trackerFingerprint: FP }), /^! KEY CHANGED to 1111/);
  });

  test('list_rooms, list_conn and members', () => {
    assert.equal(roomsTable([]), 'No rooms yet: create_room NAME makes one.');
    assert.deepEqual(
      peerText(
        roomsTable([
          { name: 'general', id: 'r1', private: false, owner: 'alice', members: 1, online: 1, member: true },
          { name: 'ops', id: 'r2', private: true, members: 3, online: 0, member: false },
        ]),
      ).split('\n'),
      ['  general  public   owner alice  1 member, 1 online   (joined)', '  ops      private  no owner     3 members, 0 online'],
    );
    assert.equal(linksTable([]), 'No open peer links.');
    assert.deepEqual(peerText(linksTable([{ user: 'bob', address: '127.0.0.2:4000', initiator: false }])).split('\n'), ['  bob  127.0.0.2:4000  opened by bob']);
    const members = peerText(membersTable('gen\neral', [{ user: 'alice', owner: true, verified: false, online: true, fingerprint: FP }])).split('\n');
    assert.equal(members[0], 'gen^Jeral:', 'the room name is one line, made visible');
    assert.match(members[1], /^ {4}alice +owner +online +key AAAA BBBB CCCC DDDD\.\.\. +not verified$/);
  });

  test('fingerprint: mine without a verdict, another user with one', () => {
    assert.equal(fingerprintLine({ user: 'alice', fingerprint: FP, verified: false }, 'alice'), `Your fingerprint: ${FP}`);
    assert.equal(fingerprintLine({ user: 'bob', fingerprint: FP, verified: true }, 'alice'), `bob's fingerprint: ${FP} (verified)`);
    assert.equal(fingerprintLine({ user: 'bob', fingerprint: FP, verified: false }, undefined), `bob's fingerprint: ${FP} (not verified)`);
  });
});

describe('result lines', () => {
  const quiet = { me: 'alice', verbose: false };
  /** What a result line shows, as text. */
  const shown = (value: string | PeerText | undefined) => (value instanceof PeerText ? value.text : value);

  test('each command says what happened, with the names it got back made visible', () => {
    assert.equal(RESULT_LINES.login!({ user: 'alice', port: 4000, resumed: true, device: 'AAAAAAAAAAAAAAAAAAAAAA' }, quiet), 'Logged in as alice (saved session); peers reach you on port 4000.');
    assert.equal(RESULT_LINES.login!({ user: 'alice', port: 4000, resumed: false, device: 'AAAAAAAAAAAAAAAAAAAAAA' }, quiet), 'Logged in as alice; peers reach you on port 4000.');
    assert.equal(RESULT_LINES.logout!({ user: 'alice' }, quiet), 'Logged out alice; the saved session is forgotten.');
    assert.equal(shown(RESULT_LINES.create_room!({ room: 'ops', roomId: 'r2', private: true }, quiet)), 'Created private room ops. Others join with: join_room ops');
    assert.equal(shown(RESULT_LINES.join_room!({ room: 'ge\u202eneral', roomId: 'r1', members: ['alice', 'b\x07ob'] }, quiet)), 'Joined ge<U+202E>neral; members: alice, b^Gob.');
    assert.equal(shown(RESULT_LINES.leave_room!({ room: 'general' }, quiet)), 'Left general.');
    assert.equal(shown(RESULT_LINES.close_room!({ room: 'general' }, quiet)), 'Closed general.');
    assert.equal(shown(RESULT_LINES.kick!({ room: 'general', user: 'bob' }, quiet)), 'Kicked bob from general.');
    assert.equal(RESULT_LINES.verify!({ user: 'bob', fingerprint: FP }, quiet), `Verified bob: ${FP}.`);
    assert.equal(RESULT_LINES.help!({ commands: [] }, quiet), commandHelp());
    assert.equal(shown(RESULT_LINES.list_rooms!({ rooms: [] }, quiet)), 'No rooms yet: create_room NAME makes one.');
  });

  test('a sent message is said only when verbose; register, exit and typing word nothing here', () => {
    const sent = { room: 'general', messageId: 'm1', sentAt: 0, recipients: 2 };
    assert.equal(RESULT_LINES.msg_room!(sent, quiet), undefined);
    assert.equal(RESULT_LINES.msg_room!(sent, { ...quiet, verbose: true }), '(sent m1 to 2)');
    assert.equal(RESULT_LINES.msg!({ ...sent, user: 'bob', roomId: 'dm:alice:bob' }, { ...quiet, verbose: true }), '(sent m1 to 2)');
    assert.equal(RESULT_LINES.register, null);
    assert.equal(RESULT_LINES.exit, null);
    assert.equal(RESULT_LINES.typing, null);
  });

  test('search: a row a result; a full index says from when it searched, under the rows or under "nothing"', () => {
    const since = new Date(2026, 10, 3, 14, 5).getTime();
    const note = 'Searched all messages since 3 Nov 2026, 14:05; some older ones are not in the search index (it is full: whoever sent the most loses their oldest first).';
    const results = [{ room: 'general', roomId: 'r1', id: 'm9', from: 'bob', text: 'deploy\nfriday', sentAt: since + 60_000 }];
    assert.equal(shown(RESULT_LINES.search!({ results }, quiet)), '  2026-11-03 14:06  general  bob:  deploy friday  m9');
    assert.equal(shown(RESULT_LINES.search!({ results, searchedFrom: since }, quiet)), `  2026-11-03 14:06  general  bob:  deploy friday  m9\n${note}`);
    assert.equal(shown(RESULT_LINES.search!({ results: [] }, quiet)), 'No stored message contains that.');
    assert.equal(shown(RESULT_LINES.search!({ results: [], searchedFrom: since }, quiet)), `No stored message contains that.\n${note}`);
  });
});

describe('event lines', () => {
  const quiet = { me: 'alice', verbose: false };
  const loud = { me: 'alice', verbose: true };

  test('room events name the room; my own join and leave are not repeated; fields are made visible', () => {
    const joined = EVENT_LINES.member_joined!;
    assert.equal(joined({ room: 'general', roomId: 'r1', user: 'bob' }, quiet), '[general] * bob joined');
    assert.equal(joined({ room: 'general', roomId: 'r1', user: 'alice' }, quiet), undefined);
    assert.equal(EVENT_LINES.member_left!({ room: 'general', roomId: 'r1', user: 'alice' }, quiet), undefined);
    assert.equal(EVENT_LINES.member_kicked!({ room: 'general', roomId: 'r1', user: 'alice', by: 'bob' }, quiet), '[general] * you were kicked by bob');
    assert.equal(EVENT_LINES.owner_changed!({ room: 'general', roomId: 'r1', owner: null }, quiet), '[general] * the room has no owner now');
    assert.equal(EVENT_LINES.room_closed!({ room: 'ev\x1bil', roomId: 'r1', by: 'bo\u202eb' }, quiet), '[ev^[il] * closed by bo<U+202E>b');
    assert.equal(EVENT_LINES.presence!({ user: 'bob', online: false }, quiet), '* bob went offline');
  });

  test('delivery counts and typing only when verbose', () => {
    const delivered: ClientEvents['delivered'] = { room: 'general', roomId: 'r1', id: 'm1', count: 1, of: 2 };
    assert.equal(EVENT_LINES.delivered!(delivered, quiet), undefined);
    assert.equal(EVENT_LINES.delivered!(delivered, loud), '[general] delivered to 1 of 2');
    const typing: ClientEvents['typing'] = { room: 'general', roomId: 'r1', user: 'bob', active: true };
    assert.equal(EVENT_LINES.typing!(typing, quiet), undefined);
    assert.equal(EVENT_LINES.typing!(typing, loud), '[general] bob is typing...');
    assert.equal(EVENT_LINES.typing!({ ...typing, active: false }, loud), undefined);
  });

  test('a key change says what to compare and the verify command to run', () => {
    const line = EVENT_LINES.key_changed!({ user: 'bob', oldFingerprint: FP, newFingerprint: OTHER, rooms: ['general', 'ops'], roomIds: ['r1', 'r2'] }, quiet)!;
    assert.equal(
      line,
      `! bob's key changed (you share general, ops): was ${FP}, now ${OTHER}. Nothing is sent to bob until you compare fingerprints with them and run: verify bob 111122223333444455556666`,
    );
    assert.match(EVENT_LINES.room_forked!({ room: 'general', roomId: 'r1', seq: 4, detail: 'two heads\nat 4', withheld: false }, quiet)!, /^! \[general\] two heads\n {2}at 4$/);
    assert.equal(EVENT_LINES.error!({ code: 'internal', message: 'a\nb' }, quiet), '! a\n  b');
  });

  test('events without a line of their own', () => {
    assert.equal(EVENT_LINES.ready, null);
    assert.equal(EVENT_LINES.connection, null);
    assert.equal(EVENT_LINES.directory_changed, null);
  });

  test('connection: a drop, a return and giving up are news; connecting and going online are not', () => {
    const at = (state: ClientEvents['connection']['state']): ClientEvents['connection'] => ({ state, detail: `now ${state}` });
    assert.equal(connectionLine('offline', at('connecting')), undefined);
    assert.equal(connectionLine('connecting', at('online')), undefined);
    assert.equal(connectionLine('online', at('offline')), undefined);
    assert.equal(connectionLine('online', at('reconnecting')), '* tracker: now reconnecting');
    assert.equal(connectionLine('reconnecting', at('online')), '* tracker: now online');
    assert.equal(connectionLine('reconnecting', at('offline')), '* tracker: now offline');
  });
});

test('commandHelp lists every interactive command of COMMANDS with its usage, and no --json-only one', () => {
  const help = commandHelp();
  for (const c of COMMANDS) {
    if (c.jsonOnly) assert.doesNotMatch(help, new RegExp(`^  ${c.usage}`, 'm'), c.name);
    else assert.match(help, new RegExp(`^  ${c.usage.replace(/[[\]|]/g, '\\$&')} +${c.about.slice(0, 20).replace(/[()[\]+?.]/g, '\\$&')}`, 'm'), c.name);
  }
  assert.ok(COMMANDS.some((c) => c.jsonOnly), 'typing is --json only');
});
