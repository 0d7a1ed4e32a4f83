// A timeline's path link (`snippet/open`, protocol/view.ts) names the message that carries the
// snippet, so the host opens that message's code thread: checked at the boundary like the rest of
// the request (a conversation key and a message id within their bounds, both or neither).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { viewToHostSchema, windowToHostSchema } from '../../protocol/view.ts';

const link = { type: 'snippet/open', path: 'src/a.ts', line: 3, endLine: 4 };

test('snippet/open carries the message of the snippet, checked; without one it is the path and lines alone', () => {
  for (const schema of [viewToHostSchema, windowToHostSchema]) {
    assert.deepEqual(schema.parse({ ...link, message: { key: 'r1', id: 'm1', extra: 'dropped' } }), { ...link, message: { key: 'r1', id: 'm1' } });
    assert.deepEqual(schema.parse(link), link);
    for (const message of [{ key: 'r1' }, { id: 'm1' }, { key: '', id: 'm1' }, { key: 'r1', id: '' }, { key: 'k'.repeat(81), id: 'm1' }, { key: 'r1', id: 'x'.repeat(65) }, { key: 1, id: 'm1' }, 'r1/m1', ['r1', 'm1'], null]) {
      assert.throws(() => schema.parse({ ...link, message }), /message/, JSON.stringify(message));
    }
  }
});
