// The one rule for blank messages (protocol/text.ts), used by senders and receivers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBlank, isBlankMessage } from '../../protocol/text.ts';

test('blank: empty, white space of every kind, invisible format characters and fillers', () => {
  for (const text of ['', ' ', '   ', '\n\t ', '\r\n', '\u00a0', '\u3000', '\u2028', '\u200b', '\u200b\u200c\u200d', '\ufeff', '\u2060', '\u202e', '\u034f', '\u3164', '\u115f\u1160', '\u2800', '\u0000\u001b', ' \u200b \u00a0 ']) {
    assert.equal(isBlank(text), true, JSON.stringify(text));
  }
});

test('blank: variation selectors, other default-ignorable characters and combining marks with nothing to sit on', () => {
  for (const text of ['\ufe0f\ufe0f', '\ufe0e', '\u{e0100}', '\u{e01ef}', '\u17b4', '\u17b5', '\u180b', '\u{1d159}', '\u{1d173}', '\u0301', '\u20dd', ' \u0300 ', '\u0300\u0301\u0302', '\u3164\u0301', '\ufe0f\u200d\u20e3', '\u{e0041}\u{e007f}']) {
    assert.equal(isBlank(text), true, JSON.stringify(text));
    assert.equal(isBlankMessage({ text }), true, JSON.stringify(text));
  }
  // Every Default_Ignorable_Code_Point and every Mn and Me character is blank on its own.
  for (let code = 0; code <= 0x10ffff; code++) {
    if (code >= 0xd800 && code <= 0xdfff) continue;
    const ch = String.fromCodePoint(code);
    if (/[\p{Default_Ignorable_Code_Point}\p{Mn}\p{Me}]/u.test(ch)) assert.equal(isBlank(ch), true, `U+${code.toString(16)}`);
  }
});

test('blank: letters that draw nothing, the Egyptian hieroglyph full and half blanks (U+13441, U+13442), alone or with other blanks', () => {
  for (const text of ['\u{13441}', '\u{13442}', '\u{13441}\u{13442}'.repeat(20), ' \u{13441} \u200b\u{13442}\n', '\u{13441}\u3164\u2800\u{1d159}', '\u{13442}\u0301', '\u{16fe4}']) {
    assert.equal(isBlank(text), true, JSON.stringify(text));
    assert.equal(isBlankMessage({ text }), true, JSON.stringify(text));
    assert.equal(isBlankMessage({ text: 'x', snippet: { code: text } }), false, 'the text shows');
    assert.equal(isBlankMessage({ text, snippet: { code: text } }), true, JSON.stringify(text));
  }
  // The hieroglyphs around them draw something: not blank.
  for (const text of ['\u{13440}\u{13441}x', '\u{13441}\u{13000}', '\u{13443}', '\u{13446}', 'a\u{13442}']) assert.equal(isBlank(text), false, JSON.stringify(text));
});

test('not blank: anything that shows, however small', () => {
  for (const text of ['a', ' . ', '0', '-', '\u200bx', '😀', 'ä', 'a\u0301', '字', ' \t_', '❤️', '1️⃣', '\u0903', 'ॐ', '\ufe0fx', '\u{1d15a}']) {
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
