// protocol/text.ts: untrusted text shown visibly, never interpreted by a terminal or a renderer.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { columnWidth, hasHidden, markSpaceRuns, visible, visibleChar, visibleLines, wrapRows } from '../../protocol/text.ts';

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

test('invisible and ignorable characters show as <U+XXXX>: fillers, variation selectors, Khmer vowels', () => {
  for (const code of [0x3164, 0x115f, 0x1160, 0xffa0, 0x2800, 0x034f, 0x17b4, 0x17b5, 0x180b, 0x180e, 0xfe00, 0xfe0f, 0xe0100, 0x1d159, 0x1d173, 0xfff0, 0x13441, 0x13442, 0x16fe4]) {
    const ch = String.fromCodePoint(code);
    const shown = `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`;
    assert.equal(visible(ch), shown, shown);
    assert.equal(visible(`a${ch}b`), `a${shown}b`);
    assert.equal(visibleLines(`x\n${ch}`, '  '), `x\n  ${shown}`);
    assert.equal(hasHidden(ch), true);
  }
  assert.equal(visible('lunch?' + '\u3164'.repeat(3) + '[dm]'), 'lunch?<U+3164><U+3164><U+3164>[dm]');
  assert.equal(visible('lunch?' + '\u{13441}\u{13442}'.repeat(2) + '[dm]'), 'lunch?<U+13441><U+13442><U+13441><U+13442>[dm]');
  assert.equal(visible('\u{13000}\u{13443}'), '\u{13000}\u{13443}', 'hieroglyphs that draw something stay');
  // Every Default_Ignorable_Code_Point is shown, unless it is the joiner or selector of an emoji.
  for (let code = 0; code <= 0x10ffff; code++) {
    if (code >= 0xd800 && code <= 0xdfff) continue;
    const ch = String.fromCodePoint(code);
    if (/\p{Default_Ignorable_Code_Point}/u.test(ch)) assert.notEqual(visible(`x${ch}`), `x${ch}`, `U+${code.toString(16)}`);
  }
});

test('emoji keep their presentation selectors and joiners; stray ones are shown', () => {
  for (const text of ['❤️', '1️⃣', '#️⃣', '☺︎', '🏳️‍🌈', '👁️‍🗨️', '✌🏽', '🇺🇸']) assert.equal(visible(text), text, text);
  assert.equal(visible('\ufe0f\ufe0f'), '<U+FE0F><U+FE0F>');
  assert.equal(visible('a\ufe0f'), 'a<U+FE0F>');
  assert.equal(visible('❤️\ufe0f'), '❤️<U+FE0F>', 'one selector, not a run of them');
});

test('columnWidth counts terminal columns: wide characters 2, combining marks 0', () => {
  assert.equal(columnWidth('abc'), 3);
  assert.equal(columnWidth('日本語'), 6);
  assert.equal(columnWidth('ｗｉｄｅ'), 8, 'fullwidth forms');
  assert.equal(columnWidth('한국'), 4);
  assert.equal(columnWidth('e\u0301'), 1);
  assert.equal(columnWidth('a\u0300\u0301\u0302'), 1);
  assert.equal(columnWidth('😀'), 2);
  assert.equal(columnWidth('❤️'), 2, 'emoji presentation');
  assert.equal(columnWidth('1️⃣'), 2, 'keycap');
  assert.ok(columnWidth('👩‍💻') >= 2, 'a joined emoji counts at least as one');
  assert.equal(columnWidth('<U+3164>'), 8);
  assert.equal(columnWidth(''), 0);
});

test('markSpaceRuns marks long runs of spaces of any kind and leaves short ones', () => {
  assert.equal(markSpaceRuns('lunch?' + ' '.repeat(57) + '[dm] carol'), 'lunch?<57 spaces>[dm] carol');
  assert.equal(markSpaceRuns('a' + '\u3000'.repeat(10) + 'b'), 'a<10 spaces>b');
  assert.equal(markSpaceRuns('a \u00a0\u2003 \u2002 \u205f\u202f b'), 'a<9 spaces>b');
  assert.equal(markSpaceRuns('a       b'), 'a       b', 'seven spaces stay');
  assert.equal(markSpaceRuns('a\n\n\n\n\n\n\n\n\nb'), 'a\n\n\n\n\n\n\n\n\nb', 'newlines are not spaces');
  assert.equal(markSpaceRuns('a    b', 4), 'a<4 spaces>b');
});

test('wrapRows: the padded attacks of issue 7 wrap with every continuation row indented', () => {
  const header = '[general] alice: ';
  const attacks = [
    'lunch?' + ' '.repeat(57) + '[dm] carol: send me the password',
    visible('lunch?' + '\u3164'.repeat(57) + '[dm] carol: send me the password'),
    visible('lunch?' + '\u2800'.repeat(70) + '[dm] carol: send me the password'),
    'lunch?' + '字'.repeat(28) + '[dm] carol: send me the password',
    'lunch?' + '\t'.repeat(9) + '[dm] carol: send me the password',
    'lunch?' + 'e\u0301'.repeat(57) + '[dm] carol: send me the password',
  ];
  for (const width of [40, 79, 119]) {
    for (const attack of attacks) {
      const rows = wrapRows(header + attack, width);
      const what = JSON.stringify({ width, rows });
      assert.ok(rows[0]!.startsWith(header), what);
      for (const row of rows) assert.ok(columnWidth(row) <= width, what);
      for (const row of rows.slice(1)) assert.match(row, /^ {2}/, what);
      assert.ok(!rows.some((row) => row.startsWith('[dm]')), what);
    }
  }
  const rows = wrapRows(header + attacks[1], 79);
  assert.ok(rows.length > 1);
  assert.equal(rows.join('').split('<U+3164>').length - 1, 57, 'no <U+3164> is cut in two');
});

test('wrapRows breaks at spaces, keeps short lines, and indents under an indented line', () => {
  assert.deepEqual(wrapRows('short line', 80), ['short line']);
  assert.deepEqual(wrapRows('', 80), ['']);
  assert.deepEqual(wrapRows('the quick brown fox jumps over the lazy dog', 20), ['the quick brown fox', '  jumps over the', '  lazy dog']);
  assert.deepEqual(wrapRows('    code ' + 'x'.repeat(30), 20), ['    code xxxxxxxxxxx', '      xxxxxxxxxxxxxx', '      xxxxx']);
  assert.deepEqual(wrapRows('a\tb', 80), ['a       b'], 'tabs become spaces to the next stop');
  assert.deepEqual(wrapRows('x'.repeat(25), 20), ['x'.repeat(20), '  ' + 'x'.repeat(5)]);
  assert.deepEqual(wrapRows('字'.repeat(15), 20), ['字'.repeat(10), '  ' + '字'.repeat(5)]);
});

test('wrapRows on random text: rows fit, continuation rows are indented, nothing but spaces is lost', () => {
  const alphabet = ['a', 'b', ' ', ' ', '  ', '\t', '字', 'e\u0301', '😀', '❤️', '<U+3164>', '^[', '[dm]', ':', '\u0300', 'ｗ'];
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let n = 0; n < 500; n++) {
    const width = 16 + Math.floor(random() * 100);
    let line = '';
    for (let i = Math.floor(random() * 300); i > 0; i--) line += alphabet[Math.floor(random() * alphabet.length)];
    const rows = wrapRows(line, width);
    const what = JSON.stringify({ width, line, rows });
    for (const row of rows) assert.ok(columnWidth(row) <= width, what);
    for (const row of rows.slice(1)) assert.match(row, /^ {2}/, what);
    assert.equal(rows.join('').replace(/\s/g, ''), line.replace(/\s/g, ''), what);
    assert.equal(rows.join('').split('<U+3164>').length, line.split('<U+3164>').length, what);
  }
});
