// peer/cli-json.ts jsonLine: what a peer sent reaches stdout as JSON that no terminal interprets.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonLine } from '../../peer/cli-json.ts';

test('JSON lines carry no raw control, C1, separator or format character, and parse back unchanged', () => {
  const text = 'a\x1b]0;t\x07 \r \u009b2J \u0085 \x7f \u2028 \u202e \u2066 \u200b \u{e0041} \ud800 é 👩‍💻';
  const line = jsonLine({ event: 'message', text });
  assert.ok(line.endsWith('\n'));
  assert.equal(line.indexOf('\n'), line.length - 1, 'one line');
  assert.doesNotMatch(line.slice(0, -1), /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|\p{Cf}|\p{Cs}/u);
  assert.equal((JSON.parse(line) as { text: string }).text, text);
  assert.match(line, /\\u009b2J/);
  assert.match(line, /👩\\u200d💻/, 'printable characters stay as they are');
});
