// extension/reads-poster.ts on its own: "seen by" of the open conversation is posted at once, a
// burst after it once more at the end of the interval (the state then), and nothing for a
// conversation not open.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { READS_EVERY_MS, ReadsPoster } from '../../extension/reads-poster.ts';

function poster(open: { key: string | undefined }) {
  const posts: { key: string; at: number }[] = [];
  let waiting: (() => void) | undefined;
  const p = new ReadsPoster((key) => (posts.push({ key, at: performance.now() }), waiting?.()), () => open.key, () => performance.now());
  const nextPost = () => new Promise<void>((done) => (waiting = done));
  return { p, posts, nextPost };
}

test('a burst of receipts in the open conversation posts at once and once more at the end of the interval', async () => {
  const open = { key: 'A' as string | undefined };
  const { p, posts, nextPost } = poster(open);
  p.changed('A');
  assert.equal(posts.length, 1, 'the first is posted at once');
  const trailing = nextPost();
  for (let i = 0; i < 20; i++) p.changed('A');
  p.changed('B');
  assert.equal(posts.length, 1, 'the rest wait for the interval (B is not open: nothing)');
  await trailing;
  assert.equal(posts.length, 2, 'one more post for the whole burst');
  assert.equal(posts[1]!.key, 'A');
  assert.ok(posts[1]!.at - posts[0]!.at >= READS_EVERY_MS - 1, 'not before the interval is over');
});

test('switched to another conversation while one waits: the open one is posted, the old one not', async () => {
  const open = { key: 'A' as string | undefined };
  const { p, posts, nextPost } = poster(open);
  p.changed('A');
  p.changed('A');
  open.key = 'B';
  p.changed('B');
  await nextPost();
  assert.deepEqual(posts.map((x) => x.key), ['A', 'B']);
  p.reset();
});

test('receipts of a conversation not open, or after reset, post nothing', () => {
  const open = { key: undefined as string | undefined };
  const { p, posts } = poster(open);
  p.changed('A');
  open.key = 'A';
  p.changed('A');
  p.changed('A');
  p.reset();
  assert.deepEqual(posts.map((x) => x.key), ['A'], 'only the open one, and the reset drops what waited');
});
