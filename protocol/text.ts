// Untrusted text made visible. Text from a peer or the tracker (messages, names, snippet paths and
// code, error details) ends up in interpreters: a terminal runs ESC and C1 sequences (window
// title, clipboard via OSC 52, clearing the screen) and returns to the line start on CR; a
// browser or VS Code reorders text around bidi controls and hides format characters. Every such
// character is shown as a visible stand-in instead, so what is on screen is what was sent.

// ---- visible text (self-contained: another rule may be appended below this section) ---------

/**
 * Characters never shown as themselves: C0 controls, DEL, C1 controls, bidi embeddings,
 * overrides, isolates and marks, other invisible format characters (soft hyphen, zero-width
 * spaces and joiners, word joiner, BOM, interlinear annotations, tag characters), line and
 * paragraph separators, lone surrogates, every Default_Ignorable_Code_Point (variation
 * selectors, the combining grapheme joiner, Hangul fillers U+115F, U+1160, U+3164 and U+FFA0,
 * Khmer inherent vowels, Mongolian selectors), and the letters and symbols that draw nothing
 * (the blank Braille pattern U+2800, the null notehead U+1D159, the Egyptian hieroglyph full and
 * half blanks U+13441 and U+13442, the Khitan small script filler U+16FE4): padding made of them
 * would be invisible, and could push text to where a terminal wraps it to the start of a row.
 */
const HIDDEN = /[\u0000-\u001f\u007f-\u009f]|\p{Cf}|[\u2028\u2029]|\p{Cs}|\p{Default_Ignorable_Code_Point}|[\u2800\u{1d159}\u{13441}\u{13442}\u{16fe4}]/gu;

/** How one hidden character is shown: `^[` for ESC, `^?` for DEL, `<U+009B>` for the rest. */
export function visibleChar(ch: string): string {
  const code = ch.codePointAt(0)!;
  if (code < 0x20) return `^${String.fromCharCode(code + 0x40)}`;
  if (code === 0x7f) return '^?';
  return `<U+${code.toString(16).toUpperCase().padStart(4, '0')}>`;
}

/** A zero-width joiner inside an emoji sequence (👩‍💻) is how that emoji is written: kept. */
function isEmojiJoiner(text: string, offset: number): boolean {
  const before = text.slice(Math.max(0, offset - 4), offset);
  const after = text.slice(offset + 1, offset + 3);
  return /\p{Extended_Pictographic}[\u{fe0f}\u{1f3fb}-\u{1f3ff}]?$/u.test(before) && /^\p{Extended_Pictographic}/u.test(after);
}

/** A text or emoji presentation selector (U+FE0E, U+FE0F) right after an emoji (❤️, 1️⃣) is part of it: kept. */
function isEmojiSelector(text: string, offset: number): boolean {
  return /\p{Emoji}$/u.test(text.slice(Math.max(0, offset - 2), offset));
}

function replaceHidden(text: string, keep: (ch: string) => boolean): string {
  return text.replace(HIDDEN, (ch: string, offset: number) =>
    keep(ch) || (ch === '\u200d' && isEmojiJoiner(text, offset)) || ((ch === '\ufe0f' || ch === '\ufe0e') && isEmojiSelector(text, offset)) ? ch : visibleChar(ch),
  );
}

/**
 * One line of untrusted text (a name, a room name, a path, a language id): every control and
 * invisible character, newlines and tabs included, shown visibly (`\x1b` → `^[`, `\n` → `^J`,
 * U+009B → `<U+009B>`, U+202E → `<U+202E>`). The result holds only printable characters.
 */
export function visible(text: string): string {
  return replaceHidden(text, () => false);
}

/**
 * A multi-line body of untrusted text (a message, a snippet's code): `\n` and `\t` are kept, every
 * other control or invisible character is shown as `visible` shows it (so `\r` is `^M`), and every
 * line after the first starts with `indent`, so that no line of the body can pass for a line of
 * its own (a message, a notice) where the body is shown indented under its header.
 */
export function visibleLines(text: string, indent = ''): string {
  const shown = replaceHidden(text, (ch) => ch === '\n' || ch === '\t');
  return indent ? shown.split('\n').join(`\n${indent}`) : shown;
}

/** Whether `text` holds anything `visible` would change (a control or an invisible character). */
export function hasHidden(text: string): boolean {
  return visible(text) !== text;
}

// ---- blank messages (self-contained) ----------------------------------------------------------

/**
 * Characters that show nothing on their own: white space of every kind (tabs, newlines, NBSP,
 * ideographic space), control and format characters (zero-width space, joiners, BOM, bidi marks),
 * every Default_Ignorable_Code_Point (variation selectors, the combining grapheme joiner, Hangul
 * fillers, Khmer inherent vowels), combining marks (Mn, Me: with nothing to sit on they show at
 * most a dotted circle), and the letters and symbols that render as empty (the blank Braille
 * pattern U+2800, the null notehead U+1D159, the Egyptian hieroglyph full and half blanks U+13441
 * and U+13442; the Hangul fillers U+115F, U+1160, U+3164, U+FFA0 and the Khitan filler U+16FE4
 * are default-ignorable or Mn already).
 */
const SHOWS_NOTHING = /^[\p{White_Space}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\p{Mn}\p{Me}\u2800\u{1d159}\u{13441}\u{13442}]*$/u;

/** Whether `text` would show as nothing at all: empty, or only the characters above. */
export function isBlank(text: string): boolean {
  return SHOWS_NOTHING.test(text);
}

/**
 * The one rule for a message body, for senders and receivers alike: it needs visible text, or a
 * code snippet with visible code (then the text may be empty). Blank messages are refused.
 */
export function isBlankMessage(body: { text: string; snippet?: { code: string } | undefined }): boolean {
  return isBlank(body.text) && (!body.snippet || isBlank(body.snippet.code));
}

// ---- terminal rows (self-contained) -------------------------------------------------------------
//
// A terminal wraps a line longer than its width on its own, and the wrapped part starts at column
// 0, where it can pass for a line of its own: `lunch?` and 57 spaces, then `[dm] carol: ...`,
// reads as a direct message on an 80-column screen. So the terminal client wraps text itself,
// every continuation row indented, at a width measured the way a terminal measures it. When in
// doubt a character counts wider (a row then ends early) rather than narrower (the terminal would
// wrap before us, at column 0).

/**
 * Two columns: East Asian Wide and Fullwidth characters (Unicode's EastAsianWidth.txt W and F,
 * taken as whole blocks), emoji and pictographs, private-use and unassigned code points.
 */
const WIDE =
  /[\u1100-\u115f\u231a\u231b\u2329\u232a\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\ua960-\ua97f\uac00-\ud7a3\uf900-\ufaff\ufe10-\ufe19\ufe30-\ufe6f\uff00-\uff60\uffe0-\uffe6\u{16fe0}-\u{16fff}\u{17000}-\u{18dff}\u{1aff0}-\u{1b2ff}\u{1f000}-\u{1faff}\u{20000}-\u{3fffd}]|\p{Extended_Pictographic}|\p{Emoji_Presentation}|\p{Co}|\p{Cn}/u;
/** No column: combining marks (they sit on the character before), joiners and selectors. */
const ZERO = /[\p{Mn}\p{Me}\p{Cf}]/u;

/** Columns one code point takes on a terminal: 0, 1 or 2. */
function codePointWidth(ch: string): number {
  if (ZERO.test(ch)) return 0;
  return WIDE.test(ch) ? 2 : 1;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** Columns one grapheme (a user-perceived character: 👩‍💻, e + U+0301, 1️⃣) takes; an emoji-presentation one at least 2. */
function graphemeWidth(g: string): number {
  let width = 0;
  for (const ch of g) width += codePointWidth(ch);
  return g.includes('\ufe0f') ? Math.max(width, 2) : width;
}

/** Columns `text` (one line, no tabs) takes on a terminal: wide characters 2, combining marks 0. */
export function columnWidth(text: string): number {
  let width = 0;
  for (const { segment } of graphemes.segment(text)) width += graphemeWidth(segment);
  return width;
}

/**
 * Runs of `min` or more spaces (of any width: U+0020, NBSP, the en and em spaces, the
 * ideographic space) as `<57 spaces>`: such a run says nothing but can push what follows anywhere
 * on the screen.
 */
export function markSpaceRuns(text: string, min = 8): string {
  return text.replace(new RegExp(`[\\p{Zs}]{${Math.max(2, Math.floor(min))},}`, 'gu'), (run) => `<${[...run].length} spaces>`);
}

/** What `visible` and `markSpaceRuns` write, kept whole on one row: `<U+3164>`, `^[`, `<57 spaces>`. */
const STAND_IN = /<U\+[0-9A-F]{4,6}>|<\d+ spaces>|\^[@-_?]/g;
const TAB_STOP = 8;

interface Unit {
  text: string;
  width: number;
}

function* units(line: string): Generator<Unit> {
  let last = 0;
  const plain = function* (part: string): Generator<Unit> {
    for (const { segment } of graphemes.segment(part)) yield { text: segment, width: segment === '\t' ? -1 : graphemeWidth(segment) };
  };
  for (const m of line.matchAll(STAND_IN)) {
    yield* plain(line.slice(last, m.index));
    yield { text: m[0], width: m[0].length };
    last = m.index! + m[0].length;
  }
  yield* plain(line.slice(last));
}

/**
 * One line (no newline) cut into rows of at most `columns` columns, the way it is to be printed:
 * every row after the first starts with the line's own indent (at most half a row) plus two
 * spaces, so no continuation row starts at column 0 and none can pass for a line of its own.
 * Rows break after a space where there is one (the space is dropped), else between characters,
 * never inside a grapheme or a stand-in like `<U+3164>`. Tabs become spaces to the next stop.
 */
export function wrapRows(line: string, columns: number): string[] {
  const width = Math.max(columns, 16);
  const lead = /^ */.exec(line)![0].length;
  const indent: Unit = { text: ' '.repeat(Math.min(lead, Math.floor(width / 2)) + 2), width: 0 };
  indent.width = indent.text.length;
  const rows: string[] = [];
  let row: Unit[] = [];
  let col = 0;
  // How many units open the row and may not be broken after: the first row's own indent, then the continuation indent.
  let keep = Math.min(lead, indent.text.length - 2);
  /** Ends the row with `taken`, and starts the next one with the indent and `carried`. */
  const emit = (taken: Unit[], carried: Unit[]) => {
    rows.push(taken.map((u) => u.text).join(''));
    row = [indent, ...carried];
    col = row.reduce((sum, u) => sum + u.width, 0);
    keep = 1;
  };
  const add = (u: Unit) => {
    if (col + u.width > width && row.length > keep) {
      // A space where the row ends is dropped.
      if (u.text === ' ') return emit(row, []);
      let space = -1;
      for (let i = row.length - 1; i > keep; i--) {
        if (row[i]!.text === ' ') {
          space = i;
          break;
        }
      }
      // Break after the last space, the word after it moving down, unless it is half a row long
      // (then it is cut here, as a word longer than a row would be).
      const carried = space > keep ? row.slice(space + 1) : [];
      if (carried.length && carried.reduce((sum, c) => sum + c.width, 0) + u.width <= width / 2) emit(row.slice(0, space), carried);
      else if (space > keep && !carried.length) emit(row.slice(0, space), []);
      else emit(row, []);
    }
    row.push(u);
    col += u.width;
  };
  for (const u of units(line)) {
    if (u.width >= 0) add(u);
    else for (let n = TAB_STOP - (col % TAB_STOP); n > 0; n--) add({ text: ' ', width: 1 });
  }
  rows.push(row.map((u) => u.text).join(''));
  return rows;
}
