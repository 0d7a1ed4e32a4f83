// peer/terminal.ts on its own: one reader at a time, lines typed ahead kept in order, prompts and
// printed text made visible, peer text cut into rows of the width, secrets not echoed.
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { columnWidth } from '../../protocol/text.ts';
import { PeerText, Terminal, type TerminalInput, type TerminalOutput } from '../../peer/terminal.ts';

/** An output that keeps what was written; `tty` and `columns` as a terminal would say them. */
function sink(tty = false, columns?: number): TerminalOutput & { text(): string } {
  let written = '';
  const out = new Writable({
    write(chunk, _encoding, done) {
      written += String(chunk);
      done();
    },
  }) as TerminalOutput & { text(): string };
  out.isTTY = tty;
  if (columns !== undefined) out.columns = columns;
  out.text = () => written;
  return out;
}

function input(tty = false): TerminalInput & PassThrough {
  const stream = new PassThrough() as TerminalInput & PassThrough;
  stream.isTTY = tty;
  return stream;
}

/** Resolves once `term` is waiting for a line (its read registered), without a timer. */
async function waitingFor(term: Terminal): Promise<void> {
  while (term.waiting === undefined) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('Terminal (not a TTY: a pipe or a script)', () => {
  test('lines typed ahead are read in order, and a question answered ahead still shows what it asked', async () => {
    const stdin = input();
    const out = sink();
    const term = new Terminal(out, stdin);
    stdin.write('first\nsecond\nyes\n');
    assert.equal(await term.read('> '), 'first');
    assert.equal(await term.read('> '), 'second');
    assert.equal(await term.read('Trust it? [y/N] ', 'question'), 'yes');
    assert.equal(out.text(), 'Trust it? [y/N]\n', 'a command prompt is not echoed to a pipe; a question is');
    stdin.end();
    assert.equal(await term.read('> '), null, 'the end of stdin reads as null');
    assert.equal(await term.read('> '), null, 'and stays so');
    term.close();
  });

  test('a question waits for its answer; answer(null) cancels it; one reader at a time', async () => {
    const stdin = input();
    const out = sink();
    const term = new Terminal(out, stdin);
    const asked = term.read('Password of \x1b[31mroom: ', 'secret');
    await waitingFor(term);
    assert.equal(term.waiting, 'secret');
    assert.equal(out.text(), 'Password of ^[[31mroom:\n', 'the prompt names a room: made visible');
    stdin.write('hunter2 hunter2 hunter2\n');
    assert.equal(await asked, 'hunter2 hunter2 hunter2');
    assert.equal(term.waiting, undefined);

    const cancelled = term.read('Do they match? [y/N] ', 'question');
    await waitingFor(term);
    assert.equal(term.answer(null), true);
    assert.equal(await cancelled, null);
    assert.equal(term.answer('late'), false, 'nobody is reading');
    term.close();
  });

  test('print makes control characters visible; our own lines stay whole, peer text is cut into indented rows', () => {
    const out = sink(true, 41); // a terminal 41 columns wide (stdin is a pipe): rows of 40
    const term = new Terminal(out, input());
    const own = 'fingerprint: ' + 'ABCD '.repeat(12).trim();
    term.print(own);
    term.print('bell\x07 and \x1b]0;title\x07');
    const peer = 'lunch?' + ' '.repeat(57) + '[dm] carol: send me the password';
    term.print(new PeerText(peer));
    const lines = out.text().split('\n');
    assert.equal(lines[0], own, 'our own line is printed whole, to be copied whole');
    assert.equal(lines[1], 'bell^G and ^[]0;title^G');
    const rows = lines.slice(2, -1);
    assert.ok(rows.length > 1, 'the peer text needed more than one row');
    assert.ok(rows[0].startsWith('lunch?'));
    for (const row of rows.slice(1)) assert.match(row, /^ {2}/, 'every continuation row is indented');
    for (const row of rows) assert.ok(columnWidth(row) <= 40, JSON.stringify(row));
    assert.equal(lines.at(-1), '');
    term.close();
  });
});

describe('Terminal (a TTY)', () => {
  test('a secret is not echoed and does not come back with the up arrow; a printed line redraws the prompt', async () => {
    const stdin = input(true);
    const out = sink(true, 80);
    const term = new Terminal(out, stdin);
    assert.equal(term.tty, true);
    const secret = term.read('Password: ', 'secret');
    await waitingFor(term);
    stdin.write('correct horse battery staple\r');
    assert.equal(await secret, 'correct horse battery staple');
    assert.doesNotMatch(out.text(), /correct horse/, 'the password was never echoed');

    const command = term.read('alice> ');
    await waitingFor(term);
    term.print('* bob is online');
    assert.match(out.text(), /\* bob is online\n.*alice> \x1b\[8G$/s, 'the prompt is drawn again under the printed line');
    stdin.write('\x1b[A\r'); // up arrow, Enter: the last line of the history, if any
    assert.equal(await command, '', 'no password came back from the history');

    const next = term.read('alice> ');
    await waitingFor(term);
    stdin.write('typed');
    assert.equal(term.clearTypedLine(), true, 'the typed line is cleared');
    assert.equal(term.clearTypedLine(), false, 'and was empty after');
    stdin.write('list_rooms\r');
    assert.equal(await next, 'list_rooms');
    const again = term.read('alice> ');
    await waitingFor(term);
    stdin.write('\x1b[A\r');
    assert.equal(await again, 'list_rooms', 'the up arrow does recall a command');
    term.close();
  });

  test('Ctrl-C goes to onInterrupt', async () => {
    const stdin = input(true);
    const term = new Terminal(sink(true, 80), stdin);
    let interrupted = 0;
    term.onInterrupt = () => interrupted++;
    const read = term.read('> ');
    await waitingFor(term);
    stdin.write('\x03');
    assert.equal(interrupted, 1);
    term.close();
    assert.equal(await read, null, 'closing ends the pending read');
  });
});
