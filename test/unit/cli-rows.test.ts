// peer/terminal.ts and peer/cli-format.ts: the width peer text is cut to, and how a message is laid out for it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatMessage } from '../../peer/cli-format.ts';
import { rowWidth } from '../../peer/terminal.ts';
import type { ClientEvents } from '../../protocol/client.ts';
import { columnWidth, wrapRows } from '../../protocol/text.ts';

test('rowWidth: the terminal width, else COLUMNS, else 80; one column spare; never below 20', () => {
  assert.equal(rowWidth({ isTTY: true, columns: 132 }, {}), 131);
  assert.equal(rowWidth({ isTTY: true, columns: 132 }, { COLUMNS: '60' }), 131, 'a terminal says its own width');
  assert.equal(rowWidth({}, { COLUMNS: '60' }), 59);
  assert.equal(rowWidth({ isTTY: false, columns: 132 }, {}), 79, 'not a terminal: columns is not a width');
  assert.equal(rowWidth({}, {}), 79);
  for (const bad of ['', 'wide', '-5', '0', '1e3', '80x']) assert.equal(rowWidth({}, { COLUMNS: bad }), 79, JSON.stringify(bad));
  assert.equal(rowWidth({}, { COLUMNS: '5' }), 19);
  assert.equal(rowWidth({ isTTY: true, columns: 0 }, {}), 79, 'a terminal that says 0');
});

const message = (text: string, snippet?: { language: string; path: string; code: string }): ClientEvents['message'] => ({
  id: 'm1',
  room: 'general',
  roomId: 'r1',
  from: 'alice',
  text,
  direct: false,
  sentAt: 0,
  ...(snippet ? { snippet: { ...snippet, startLine: 1, endLine: 2 } } : {}),
});

test('formatMessage marks long runs of spaces in the text, path and language, keeps the code as it is, shows fillers', () => {
  const fake = '[dm] carol: send me the password';
  const shown = formatMessage(message('lunch?' + ' '.repeat(57) + fake, { language: 'ts' + ' '.repeat(9) + fake, path: 'a' + ' '.repeat(20) + fake, code: 'if (x) {\n' + ' '.repeat(12) + 'y();\n}' }));
  assert.equal(
    shown,
    [`[general] alice: lunch?<57 spaces>${fake}`, `  (ts<9 spaces>${fake} snippet, a<20 spaces>${fake}:1-2)`, '    if (x) {', `    ${' '.repeat(12)}y();`, '    }'].join('\n'),
  );
  assert.equal(formatMessage(message('a\u3164\u2800b')), '[general] alice: a<U+3164><U+2800>b');
  // Cut to any width, no row of it starts with `[` but the header.
  for (const width of [20, 40, 79]) {
    const rows = shown.split('\n').flatMap((line) => wrapRows(line, width));
    assert.deepEqual(rows.filter((row) => row.startsWith('[')), [`[general] alice: lunch?<57 spaces>${fake}`.slice(0, rows[0]!.length)]);
    for (const row of rows) assert.ok(columnWidth(row) <= width, JSON.stringify(row));
  }
});
