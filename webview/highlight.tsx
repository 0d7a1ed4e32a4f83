// Search results with the searched words marked: the text is split at the words (any case) and
// the matches wrapped in <mark>, all as text nodes, never markup, whatever a peer wrote.

import type { ComponentChildren } from 'preact';
import { visible } from '../protocol/text.ts';
import { queryWords } from './search-words.ts';


/** `text` made visible, with every occurrence of a word of `query` in <mark>. */
export function highlighted(text: string, query: string): ComponentChildren[] {
  const shown = visible(text.replace(/[\r\n\t]+/g, ' '));
  const words = queryWords(query);
  if (!words.length) return [shown];
  const lower = shown.toLowerCase();
  const out: ComponentChildren[] = [];
  let from = 0;
  let plain = 0;
  while (from < shown.length) {
    let hit: string | undefined;
    for (const w of words) if (lower.startsWith(w, from)) {
      hit = w;
      break;
    }
    if (!hit) {
      from++;
      continue;
    }
    if (from > plain) out.push(shown.slice(plain, from));
    out.push(<mark>{shown.slice(from, from + hit.length)}</mark>);
    from += hit.length;
    plain = from;
  }
  if (plain < shown.length) out.push(shown.slice(plain));
  return out;
}
