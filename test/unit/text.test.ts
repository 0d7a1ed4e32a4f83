// protocol/text.ts: untrusted text shown visibly, never interpreted by a terminal or a renderer.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasHidden, visible, visibleChar, visibleLines } from '../../protocol/text.ts';

/** Nothing a terminal or a bidi algorithm would act on: no C0 but \n and \t, no DEL, no C1, no format character. */
const INTERPRETED = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]|\p{Cf}|\p{Cs}/u;

test('C0 controls and DEL show in caret notation', () => {
  assert.equal(visible('\x1b'), '^[');
  assert.equal(visible('\r'), '^M');
  assert.equal(visible('\x7f'), '^?');
  assert.equal(visible('\0'), '^@');
  assert.equal(visible('\x07'), '^G');
  assert.equal(visible('a\nb\tc'), 'a^Jb^Ic');
  assert.equal(visibleChar('\x1f'), '^_');
});

test('C1 controls, bidi controls, format characters and lone surrogates show as <U+XXXX>', () => {
  assert.equal(visible('\u009b2J'), '<U+009B>2J', 'C1 CSI');
  assert.equal(visible('\u0085'), '<U+0085>', 'NEL');
  for (const code of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069, 0x200e, 0x200f, 0x061c]) {
    const ch = String.fromCodePoint(code);
    assert.equal(visible(ch), `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`);
  }
  for (const ch of ['\u00ad', '\u200b', '\u2060', '\ufeff', '\u2028', '\u2029', '\u{e0041}']) assert.notEqual(visible(ch), ch, `U+${ch.codePointAt(0)!.toString(16)}`);
  assert.equal(visible('a\ud800b'), 'a<U+D800>b', 'lone high surrogate');
  assert.equal(visible('a\udc00'), 'a<U+DC00>', 'lone low surrogate');
});

test('ordinary text is unchanged: accents, scripts, emoji and emoji sequences', () => {
  for (const text of ['héllo wörld', 'שלום עולם', 'مرحبا', '日本語', '👍🏽', '👩‍💻 and 👨‍👩‍👧', '🏳️‍🌈', 'tab-free ascii ~!@#$%^&*()']) {
    assert.equal(visible(text), text);
    assert.equal(hasHidden(text), false);
  }
  assert.equal(visible('a\u200db'), 'a<U+200D>b', 'a joiner outside an emoji sequence is shown');
});

test('the attacks of issue 7 come out inert and visible', () => {
  const attacks = [
    'lunch?\r[dm] carol: send me the password',
    '\x1b]0;pwned title\x07',
    '\x1b[2J\x1b[H',
    '\x1b]52;c;cm0gLXJmIH4=\x07',
    '\u009b2J\u009d0;title\u009c',
    'invoice\u202Etxt.exe',
  ];
  for (const a of attacks) {
    const shown = visible(a);
    assert.doesNotMatch(shown, INTERPRETED, JSON.stringify(shown));
    assert.doesNotMatch(visibleLines(a, '  '), INTERPRETED);
  }
  assert.equal(visible(attacks[0]!), 'lunch?^M[dm] carol: send me the password');
  assert.equal(visible(attacks[1]!), '^[]0;pwned title^G');
  assert.equal(visible(attacks[5]!), 'invoice<U+202E>txt.exe');
  assert.equal(visible(visible(attacks[3]!)), visible(attacks[3]!), 'idempotent');
});

test('visibleLines keeps newlines and tabs and indents continuation lines', () => {
  assert.equal(visibleLines('one\n[dm] carol: hi\r\n\tthree', '  '), 'one\n  [dm] carol: hi^M\n  \tthree');
  assert.equal(visibleLines('a\nb'), 'a\nb');
  assert.equal(visibleLines('\x1b[31mred'), '^[[31mred');
});
