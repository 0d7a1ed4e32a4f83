import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameDecoder, HEADER_BYTES, PEER_FRAME_LIMIT, TRACKER_FRAME_LIMIT, encodeFrame } from '../../protocol/frame.ts';
import { ProtocolError } from '../../protocol/errors.ts';

const code = (c: string) => (e: unknown) => e instanceof ProtocolError && e.code === c;
const VALUES: unknown[] = [
  { id: 1, type: 'ping' },
  { event: 'presence', user: 'alice', text: 'héllo 🐙 \u0000 "quoted"' },
  [1, 2, 3],
  'a string',
  42,
  null,
  { nested: { deep: [{ x: 'y'.repeat(1000) }] } },
];
const frameWith = (body: Buffer) => {
  const head = Buffer.alloc(HEADER_BYTES);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
};

describe('encodeFrame', () => {
  test('writes a 4-byte big-endian byte length, then UTF-8 JSON', () => {
    const frame = encodeFrame({ t: 'é' });
    const body = Buffer.from('{"t":"é"}', 'utf8');
    assert.equal(body.length, 10); // é is two bytes: the length counts bytes, not characters
    assert.deepEqual(frame, Buffer.concat([Buffer.from([0, 0, 0, 10]), body]));
  });

  test('refuses a body over the limit, counting bytes, and accepts one exactly at it', () => {
    const limit = 100;
    const at = { s: 'x'.repeat(limit - 8) }; // {"s":"…"} is 8 bytes of framing
    assert.equal(encodeFrame(at, limit).length, HEADER_BYTES + limit);
    assert.throws(() => encodeFrame({ s: 'x'.repeat(limit - 7) }, limit), code('request.too_large'));
    assert.throws(() => encodeFrame({ s: 'é'.repeat(50) }, limit), code('request.too_large')); // 50 chars, 108 bytes
  });

  test('defaults to the peer limit; tracker requests have a smaller one', () => {
    assert.equal(TRACKER_FRAME_LIMIT, 64 * 1024);
    assert.equal(PEER_FRAME_LIMIT, 1024 * 1024);
    const big = { s: 'x'.repeat(TRACKER_FRAME_LIMIT) };
    assert.ok(encodeFrame(big).length > TRACKER_FRAME_LIMIT);
    assert.throws(() => encodeFrame(big, TRACKER_FRAME_LIMIT), code('request.too_large'));
    assert.throws(() => encodeFrame({ s: 'x'.repeat(PEER_FRAME_LIMIT) }), code('request.too_large'));
  });
});

describe('FrameDecoder', () => {
  test('decodes several frames coalesced in one chunk, in order', () => {
    const d = new FrameDecoder(PEER_FRAME_LIMIT);
    assert.deepEqual(d.push(Buffer.concat(VALUES.map((v) => encodeFrame(v)))), VALUES);
    assert.equal(d.pending, 0);
  });

  test('decodes a frame split at every possible point, header included', () => {
    const bytes = Buffer.concat([encodeFrame(VALUES[1]), encodeFrame(VALUES[0])]);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const d = new FrameDecoder(PEER_FRAME_LIMIT);
      const out = [...d.push(bytes.subarray(0, cut)), ...d.push(bytes.subarray(cut))];
      assert.deepEqual(out, [VALUES[1], VALUES[0]], `cut at ${cut}`);
    }
  });

  test('byte at a time: each frame appears exactly when its last byte arrives', () => {
    const frames = VALUES.map((v) => encodeFrame(v));
    const d = new FrameDecoder(PEER_FRAME_LIMIT);
    for (const [i, frame] of frames.entries()) {
      for (let j = 0; j < frame.length; j++) {
        const out = d.push(frame.subarray(j, j + 1));
        if (j < frame.length - 1) {
          assert.deepEqual(out, [], `frame ${i} byte ${j}`);
          assert.equal(d.pending, j + 1);
        } else {
          assert.deepEqual(out, [VALUES[i]]);
          assert.equal(d.pending, 0);
        }
      }
    }
  });

  test('any chunking of any frames gives back the same values (property)', () => {
    const json = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
    fc.assert(
      fc.property(fc.array(json, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 20 }), (values, cuts) => {
        const bytes = Buffer.concat(values.map((v) => encodeFrame(v)));
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const d = new FrameDecoder(PEER_FRAME_LIMIT);
        const out: unknown[] = [];
        let from = 0;
        for (const p of [...points, bytes.length]) {
          out.push(...d.push(bytes.subarray(from, p)));
          from = p;
        }
        assert.deepEqual(out, values);
        assert.equal(d.pending, 0);
      }),
      { numRuns: 200 },
    );
  });

  test('refuses a declared length over the limit from the header alone, before buffering the body', () => {
    const limit = 1024;
    const d = new FrameDecoder(limit);
    const head = Buffer.alloc(HEADER_BYTES);
    head.writeUInt32BE(limit + 1, 0);
    assert.throws(() => d.push(head), code('request.too_large'));
    // even a header that arrives one byte at a time
    const d2 = new FrameDecoder(limit);
    d2.push(head.subarray(0, 3));
    assert.throws(() => d2.push(head.subarray(3)), code('request.too_large'));
    // 4 GiB declared: refused at once, nothing allocated for it
    const d3 = new FrameDecoder(TRACKER_FRAME_LIMIT);
    assert.throws(() => d3.push(Buffer.from([0xff, 0xff, 0xff, 0xff])), code('request.too_large'));
  });

  test('accepts a frame exactly at the limit', () => {
    const limit = 64;
    const body = Buffer.from(JSON.stringify({ s: 'x'.repeat(limit - 8) }));
    assert.equal(body.length, limit);
    const d = new FrameDecoder(limit);
    assert.deepEqual(d.push(frameWith(body)), [{ s: 'x'.repeat(limit - 8) }]);
  });

  test('refuses invalid JSON and an empty body with request.invalid', () => {
    for (const text of ['{"a":', 'undefined', "{'a':1}", '{"a":1}}', '']) {
      const d = new FrameDecoder(PEER_FRAME_LIMIT);
      assert.throws(() => d.push(frameWith(Buffer.from(text))), (e: unknown) => code('request.invalid')(e) && /JSON/.test((e as Error).message), text);
    }
  });

  test('refuses bytes that are not UTF-8 (no silent U+FFFD)', () => {
    const bad = [
      Buffer.from([0x22, 0xff, 0x22]), // 0xff never appears in UTF-8
      Buffer.from([0x22, 0xc0, 0xa2, 0x22]), // overlong encoding of "
      Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]), // a lone surrogate
      Buffer.from([0x22, 0xe2, 0x82, 0x22]), // truncated sequence
    ];
    for (const body of bad) {
      const d = new FrameDecoder(PEER_FRAME_LIMIT);
      assert.throws(() => d.push(frameWith(body)), (e: unknown) => code('request.invalid')(e) && /UTF-8/.test((e as Error).message), body.toString('hex'));
    }
  });

  test('a bad frame after a good one in the same chunk: the good one first, then the error, then the rest', () => {
    const d = new FrameDecoder(PEER_FRAME_LIMIT);
    const chunk = Buffer.concat([encodeFrame({ ok: 1 }), frameWith(Buffer.from('{')), encodeFrame({ ok: 2 })]);
    assert.deepEqual(d.push(chunk), [{ ok: 1 }]);
    assert.throws(() => d.push(Buffer.alloc(0)), code('request.invalid'));
    assert.deepEqual(d.push(Buffer.alloc(0)), [{ ok: 2 }]);
  });

  test('an oversized header after a good frame: the good frame is not lost', () => {
    const d = new FrameDecoder(1024);
    const huge = Buffer.alloc(4);
    huge.writeUInt32BE(1025);
    assert.deepEqual(d.push(Buffer.concat([encodeFrame({ ok: 1 }), huge])), [{ ok: 1 }]);
    assert.throws(() => d.push(Buffer.alloc(0)), code('request.too_large'));
  });
});
