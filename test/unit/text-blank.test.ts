// The one rule for blank messages (protocol/text.ts), used by senders and receivers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBlank, isBlankMessage } from '../../protocol/text.ts';

test('blank: empty, white space of every kind, invisible format characters and fillers', () => {
  for (const text of ['', ' ', '   ', '\n\t ', '\r\n', '\u00a0', '\u3000', '\u2028', '\u200b', '\u200b\u200c\u200d', '\ufeff', '\u2060', '\u202e', '\u034f', '\u3164', '\u115f\u1160', '\u2800', '\u0000\u001b', ' \u200b \u00a0 ']) {
    assert.equal(isBlank(text), true, JSON.stringify(text));
  }
});

test('not blank: anything that shows, however small', () => {
  for (const text of ['a', ' . ', '0', '-', '\u200bx', '😀', 'ä', '\u0301', '字', ' \t_']) {
    assert.equal(isBlank(text), false, JSON.stringify(text));
  }
});

test('a message needs visible text or a snippet with visible code', () => {
  assert.equal(isBlankMessage({ text: ' ' }), true);
  assert.equal(isBlankMessage({ text: ' ', snippet: { code: '\n' } }), true);
  assert.equal(isBlankMessage({ text: '', snippet: { code: 'x' } }), false);
  assert.equal(isBlankMessage({ text: 'hi', snippet: { code: '' } }), false);
  assert.equal(isBlankMessage({ text: 'hi' }), false);
});
