// How tall a timeline row is before it has been on screen (then it is measured): estimated from
// its text's length and what it carries, close enough that the scrollbar does not lurch.

import type { Row } from './rows.ts';

const LINE_PX = 19;
const CHAR_PX = 7;
const DAY_PX = 30;
const HEAD_PX = 22;
const ROW_PAD_PX = 6;
const SNIPPET_HEAD_PX = 30;
const CODE_LINE_PX = 17;
const CODE_MAX_LINES = 20;
const OLDER_PX = 30;
const UNREAD_PX = 24;
/** A reply's quote, the reactions line, "Seen by": one short line each. */
const EXTRA_LINE_PX = 22;

/** Lines `text` takes at `perLine` characters a line (each newline starts one). */
export function countLines(text: string, perLine: number): number {
  let lines = 0;
  let from = 0;
  for (;;) {
    const nl = text.indexOf('\n', from);
    const len = (nl === -1 ? text.length : nl) - from;
    lines += Math.max(1, Math.ceil(len / perLine));
    if (nl === -1) return lines;
    from = nl + 1;
  }
}

/** The estimated height (px) of `row` in a timeline `width` px wide. */
export function estimateRow(row: Row, width: number): number {
  if (row.kind === 'day') return DAY_PX;
  if (row.kind === 'older' || row.kind === 'newer') return OLDER_PX;
  if (row.kind === 'unread') return UNREAD_PX;
  const perLine = Math.max(16, Math.floor(((width || 300) - 40) / CHAR_PX));
  const text = row.item.text;
  if (row.kind === 'notice') return ROW_PAD_PX + LINE_PX * countLines(text, perLine);
  const m = row.item;
  if (m.deleted) return ROW_PAD_PX + (row.head ? HEAD_PX : 0) + LINE_PX;
  let h = ROW_PAD_PX + (row.head ? HEAD_PX : 0) + LINE_PX * countLines(text, perLine);
  if (m.snippet) h += SNIPPET_HEAD_PX + CODE_LINE_PX * Math.min(CODE_MAX_LINES, countLines(m.snippet.code, 1e9));
  if (m.replyTo) h += EXTRA_LINE_PX;
  if (m.reactions?.length || m.edited) h += EXTRA_LINE_PX;
  return h;
}
