// What one message can cost the view's Markdown (webview/markdown.tsx): any member could send 64 KiB
// of "a\n\n" (21,000 paragraphs: a second of the view's thread and 9 MiB of tokens kept for each,
// 902 MiB after 100 in an attacker's probe, the parse cache bounded only by its 4,000 entries).
// Texts past MARKDOWN_MAX_CHARS are shown as their plain lines, unparsed; the cache is bounded by
// the tokens it holds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { VNode } from 'preact';
import { MARKDOWN_MAX_CHARS, markdownCacheTokens, renderMarkdown } from '../../webview/markdown.tsx';

test('a long message is one plain block, not parsed; mentions still marked, controls shown', () => {
  const text = `@bob look\u202e\n${'a\n\n'.repeat(64 * 1024 / 3)}`;
  assert.ok(text.length > MARKDOWN_MAX_CHARS);
  const before = markdownCacheTokens();
  const out = renderMarkdown(text, 'bob') as VNode<{ class: string; children: unknown[] }>[];
  assert.equal(out.length, 1);
  assert.equal(out[0]!.type, 'p');
  assert.equal(out[0]!.props.class, 'plain-text');
  assert.equal(markdownCacheTokens(), before, 'nothing parsed, nothing cached');
  const children = out[0]!.props.children as unknown[];
  assert.equal((children[0] as VNode<{ class: string }>).props.class, 'mention mention-me');
  assert.ok(!JSON.stringify(children).includes('\u202e'), 'a bidi override is shown, not obeyed');
});

test('many texts just under the limit keep the parse cache bounded', () => {
  for (let i = 0; i < 200; i++) renderMarkdown(`${i} ${'a\n\n'.repeat((MARKDOWN_MAX_CHARS - 8) / 3)}`, undefined);
  assert.ok(markdownCacheTokens() <= 200_000, `${markdownCacheTokens()} tokens cached`);
});

test('a short message is still Markdown', () => {
  const out = renderMarkdown('**bold** and `code`', undefined) as VNode[];
  assert.equal(out[0]!.type, 'p');
  assert.match(JSON.stringify(out), /"strong"/);
});
