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
 * paragraph separators, and lone surrogates.
 */
const HIDDEN = /[\u0000-\u001f\u007f-\u009f]|\p{Cf}|[\u2028\u2029]|\p{Cs}/gu;

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

function replaceHidden(text: string, keep: (ch: string) => boolean): string {
  return text.replace(HIDDEN, (ch: string, offset: number) => (keep(ch) || (ch === '\u200d' && isEmojiJoiner(text, offset)) ? ch : visibleChar(ch)));
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
 * the combining grapheme joiner, and the "filler" letters that render as empty (Hangul fillers,
 * the blank Braille pattern).
 */
const SHOWS_NOTHING = /^[\p{White_Space}\p{Cc}\p{Cf}\u034f\u115f\u1160\u2800\u3164\uffa0]*$/u;

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
