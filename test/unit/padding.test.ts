// protocol/padding.ts: the size buckets plaintexts are padded to before they are sealed, and the
// spaces that pad them, which JSON ignores (old receivers read padded bodies; unpadded ones still open).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAD_MIN_BYTES, pad, paddedLength, unpad } from '../../protocol/padding.ts';

test('buckets: 256 bytes at least, multiples of 256 below 4 KiB, 16 a doubling above, capped at the maximum', () => {
  const cases: [number, number][] = [
    [0, 256], [1, 256], [77, 256], [144, 256], [256, 256], [257, 512], [4095, 4096], [4096, 4096],
    [4097, 4352], [8192, 8192], [8193, 8704], [65_536, 65_536], [65_537, 69_632], [100_000, 102_400],
  ];
  for (const [n, want] of cases) assert.equal(paddedLength(n), want, `${n} bytes`);
  assert.equal(paddedLength(393_280, 397_296), 397_296, 'the bucket (409,600) is capped at the maximum');
  assert.equal(paddedLength(397_297, 397_296), 397_297, 'over the maximum: left as it is, for the caller to refuse');
  for (let n = 1; n < 300_000; n += 997) {
    const p = paddedLength(n);
    assert.ok(p >= n && p - n < Math.max(PAD_MIN_BYTES, n / 16), `${n} -> ${p}: at most 255 bytes or 1/16 more`);
  }
  assert.throws(() => paddedLength(-1), TypeError);
  assert.throws(() => paddedLength(1.5), TypeError);
});

test('pad appends spaces that unpad takes off again, and JSON reads the padded bytes as they are', () => {
  const json = Buffer.from(JSON.stringify({ id: 'x', text: 'hello  ', time: 1 }), 'utf8');
  const padded = pad(json);
  assert.equal(padded.length, 256);
  assert.ok(unpad(padded).equals(json));
  assert.ok(unpad(json).equals(json), 'an unpadded body (sealed before padding) is left as it is');
  assert.deepEqual(JSON.parse(padded.toString('utf8')), JSON.parse(json.toString('utf8')), 'a receiver from before padding reads it');
  assert.equal(pad(json, 100).length, 100, 'the cap holds');
});
