// A view message that fails its schema but names a request (a usable requestId) is answered with
// a failed request/completed (request.invalid), so the view does not stay pending
// (extension/chat-view-provider.ts posts what invalidRequestAnswer returns).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { invalidRequestAnswer, viewToHostSchema } from '../../protocol/view.ts';

test('a malformed request is answered request.invalid; a malformed message without a request id is not', () => {
  const raw = { type: 'message/send', requestId: 7, key: 'x', text: '' };
  assert.throws(() => viewToHostSchema.parse(raw));
  assert.deepEqual(invalidRequestAnswer(raw, 'text is empty'), { type: 'request/completed', requestId: 7, ok: false, error: { code: 'request.invalid', message: 'text is empty' } });
  assert.deepEqual(invalidRequestAnswer({ type: 'no/such', requestId: 3 }, 'unknown')?.type, 'request/completed');
  for (const bad of [null, 'text', { type: 'message/send' }, { requestId: '7' }, { requestId: 0 }, { requestId: 1.5 }, { requestId: Number.MAX_SAFE_INTEGER + 1 }]) {
    assert.equal(invalidRequestAnswer(bad, 'why'), undefined, JSON.stringify(bad));
  }
});
