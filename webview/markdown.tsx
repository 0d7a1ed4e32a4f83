// Message text as Markdown, rendered SAFELY: markdown-it parses with `html: false` (raw HTML in a
// message stays text), and its tokens become Preact elements here from an allow-list of tags and
// attributes. No string of HTML is ever assigned to the DOM, so `<script>` or `<img onerror>` in a
// message can only ever appear as the characters they are. Images are off (they would load
// remote resources); links are limited to http(s) and mailto and open as ordinary <a> (VS Code
// opens them outside the webview).

import MarkdownIt from 'markdown-it';
import { h, type ComponentChild, type ComponentChildren } from 'preact';
import { visibleLines } from '../protocol/text.ts';

const md = new MarkdownIt('default', { html: false, linkify: true, breaks: true, typographer: false });
md.disable(['image', 'heading', 'lheading']);
// "main.ts" is a file name in a chat between programmers, not the Tuvalu web site.
md.linkify.set({ fuzzyLink: false, fuzzyEmail: false });
type Token = ReturnType<typeof md.parse>[number];
const SAFE_LINK = /^(https?:\/\/|mailto:)/i;
md.validateLink = (url: string): boolean => SAFE_LINK.test(url.trim());

/** @name as in protocol/names.ts NAME_PATTERN (3–32 of a-z 0-9 . _ -), not ending in . or -. */
const MENTION = /(^|[^A-Za-z0-9._@-])@([A-Za-z0-9._-]{1,31}[A-Za-z0-9_])/g;

const BLOCK_TAGS = new Set(['p', 'blockquote', 'ul', 'ol', 'li', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'hr', 'pre']);
const INLINE_TAGS = new Set(['em', 'strong', 's', 'a', 'code', 'br']);

/**
 * Longer texts are shown as their plain lines, not parsed: any member could send 64 KiB of "a\n\n",
 * 21,000 paragraphs that held the view's thread a second and kept 9 MiB of tokens each.
 */
export const MARKDOWN_MAX_CHARS = 8192;
// Parsing is the costly part; a timeline re-renders the same texts as it scrolls. Bounded by
// entries and by tokens held (a few pathological texts under MARKDOWN_MAX_CHARS stay small).
const CACHE_MAX = 4000;
const CACHE_TOKENS = 200_000;
const cache = new Map<string, Token[]>();
let cachedTokens = 0;

function parse(text: string): Token[] {
  const known = cache.get(text);
  if (known) return known;
  // Controls and invisible characters (bidi overrides, zero-width spaces) are shown, not obeyed.
  const tokens = md.parse(visibleLines(text), {});
  if (cache.size >= CACHE_MAX || cachedTokens + tokens.length > CACHE_TOKENS) {
    cache.clear();
    cachedTokens = 0;
  }
  cache.set(text, tokens);
  cachedTokens += tokens.length;
  return tokens;
}


interface Frame {
  tag: string;
  props: Record<string, string | undefined>;
  children: ComponentChildren[];
}

/** Splits text at @mentions; the reader's own name is marked differently. */
export function withMentions(text: string, me: string | undefined): ComponentChildren[] {
  const out: ComponentChildren[] = [];
  let last = 0;
  MENTION.lastIndex = 0;
  for (let m = MENTION.exec(text); m; m = MENTION.exec(text)) {
    const start = m.index + m[1]!.length;
    const name = m[2]!.toLowerCase();
    if (name.length < 3) continue;
    if (start > last) out.push(text.slice(last, start));
    out.push(h('span', { class: name === me ? 'mention mention-me' : 'mention' }, `@${m[2]}`));
    last = start + 1 + m[2]!.length;
  }
  if (last === 0) return [text];
  if (last < text.length) out.push(text.slice(last));
  return out;
}

const attr = (token: Token, name: string): string | undefined => {
  const value = token.attrGet(name);
  return value === null ? undefined : String(value);
};

function propsOf(token: Token): Record<string, string | undefined> {
  switch (token.tag) {
    case 'a': {
      const href = attr(token, 'href') ?? '';
      return SAFE_LINK.test(href) ? { href, title: attr(token, 'title') ?? href, rel: 'noopener noreferrer' } : {};
    }
    case 'ol': {
      const start = attr(token, 'start');
      return start && /^\d{1,9}$/.test(start) ? { start } : {};
    }
    case 'th':
    case 'td': {
      const align = /text-align:(left|right|center)/.exec(attr(token, 'style') ?? '')?.[1];
      return align ? { class: `align-${align}` } : {};
    }
    default:
      return {};
  }
}

function element(frame: Frame): ComponentChild | ComponentChildren[] {
  if (frame.tag === '') return frame.children;
  const tag = BLOCK_TAGS.has(frame.tag) || INLINE_TAGS.has(frame.tag) ? frame.tag : 'span';
  return h(tag, frame.props as Record<string, string>, ...frame.children);
}

function codeBlock(code: string, language: string): ComponentChild {
  const lang = language.trim().split(/\s+/)[0] ?? '';
  return h('pre', { class: 'md-code', 'data-lang': lang || undefined }, h('code', null, code.replace(/\n$/, '')));
}

function render(tokens: readonly Token[], me: string | undefined): ComponentChildren[] {
  const root: ComponentChildren[] = [];
  const stack: Frame[] = [];
  let out = root;
  for (const token of tokens) {
    if (token.nesting === 1) {
      // Paragraphs inside tight lists are hidden: their text goes straight into the <li>.
      const frame: Frame = { tag: token.hidden ? '' : token.tag, props: propsOf(token), children: [] };
      stack.push(frame);
      out = frame.children;
      continue;
    }
    if (token.nesting === -1) {
      const frame = stack.pop();
      out = stack.length ? stack[stack.length - 1]!.children : root;
      if (frame) out.push(element(frame));
      continue;
    }
    switch (token.type) {
      case 'inline':
        out.push(...render(token.children ?? [], me));
        break;
      case 'text':
        out.push(...withMentions(token.content, me));
        break;
      case 'code_inline':
        out.push(h('code', null, token.content));
        break;
      case 'softbreak':
      case 'hardbreak':
        out.push(h('br', null));
        break;
      case 'fence':
        out.push(codeBlock(token.content, token.info));
        break;
      case 'code_block':
        out.push(codeBlock(token.content, ''));
        break;
      case 'hr':
        out.push(h('hr', null));
        break;
      default:
        // html_inline/html_block cannot occur with html:false; anything unknown shows as its text.
        if (token.content) out.push(token.content);
    }
  }
  // Unbalanced tokens cannot come from markdown-it, but never drop text if they did.
  while (stack.length) {
    const frame = stack.pop()!;
    out = stack.length ? stack[stack.length - 1]!.children : root;
    out.push(element(frame));
  }
  return root;
}

/** The message text as Preact children (never HTML strings). */
export function renderMarkdown(text: string, me: string | undefined): ComponentChildren[] {
  if (text.length > MARKDOWN_MAX_CHARS) return [h('p', { class: 'plain-text' }, withMentions(visibleLines(text), me))];
  return render(parse(text), me);
}
