// Bad bytes at the tracker (DESIGN.md "Wire: frames" and "Tracker": bad input gets an error code
// and the connection survives where it can; nothing crashes the tracker). Each case writes bytes
// a real client never would, on a raw TLS (or TCP) socket, checks the exact answer, and then
// shows that a fresh client still logs in and lists rooms (expectServing).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { TRACKER_FRAME_LIMIT, encodeFrame } from '../../protocol/frame.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { nextEvent } from '../helpers/events.ts';
import { FAST_TRACKER_ARGS, startTracker, type TrackerProcess } from '../helpers/tracker-process.ts';
import { RawClient, expectServing, frameHeader, rawFrame } from '../helpers/rooms.ts';

let tracker: TrackerProcess;
// One tracker for the file: teardown collected here, run by the file's after hook.
const teardown: (() => unknown)[] = [];
after(async () => {
  for (const fn of teardown) await fn();
});
before(async () => {
  tracker = await startTracker({ after: (fn) => teardown.push(fn) }, { args: [...FAST_TRACKER_ARGS] });
});

type Frame = Record<string, unknown> & { id?: unknown; ok?: unknown; error?: { code?: unknown } };
const ping = (id: number) => encodeFrame({ id, type: 'ping' });
const codeOf = (f: unknown) => (f as Frame).error?.code;

/** Asserts `f` is an error response with `id` and `code`. */
function assertError(f: unknown, id: number | null, code: string): void {
  const frame = f as Frame;
  assert.equal(frame.ok, false, JSON.stringify(f));
  assert.equal(frame.id, id, JSON.stringify(f));
  assert.equal(codeOf(f), code, JSON.stringify(f));
}

function assertPong(f: unknown, id: number): void {
  const frame = f as Frame;
  assert.equal(frame.ok, true, JSON.stringify(f));
  assert.equal(frame.id, id);
  assert.equal(typeof frame.time, 'number');
}

describe('frames over the limit and streams out of sync', () => {
  test('a header claiming 65537 bytes: request.too_large, then the stream is closed', async (t) => {
    const raw = await RawClient.connect(tracker, t);
    raw.write(frameHeader(TRACKER_FRAME_LIMIT + 1));
    await raw.closed;
    assert.equal(raw.frames.length, 2, JSON.stringify(raw.frames));
    assertError(raw.frames[0], null, 'request.too_large');
    assert.equal((raw.frames[1] as Frame).event, 'closing');
    assert.equal((raw.frames[1] as Frame).code, 'request.too_large');
    await expectServing(tracker);
  });

  test('a frame of exactly 64 KiB is still a request', async (t) => {
    const raw = await RawClient.connect(tracker, t);
    const base = JSON.stringify({ id: 7, type: 'ping', pad: '' });
    const body = JSON.stringify({ id: 7, type: 'ping', pad: 'x'.repeat(TRACKER_FRAME_LIMIT - base.length) });
    assert.equal(Buffer.byteLength(body), TRACKER_FRAME_LIMIT);
    raw.write(rawFrame(body));
    assertPong((await raw.waitFrames(1))[0], 7);
    assert.equal(raw.isClosed, false);
  });

  test('an oversized header through the client connection closes it with request.too_large', async () => {
    const conn = await tracker.connect({ heartbeatMs: 0 });
    const closing = nextEvent(conn, 'closing');
    const closed = once(conn, 'close');
    conn.sendRaw(frameHeader(0xffffffff));
    assert.equal((await closing).code, 'request.too_large');
    const [reason] = (await closed) as [Error | undefined];
    assert.ok(reason instanceof ProtocolError && reason.code === 'request.too_large', String(reason));
    await expectServing(tracker);
  });

  test('plain text inside TLS reads as a huge length: request.too_large, closed', async (t) => {
    const raw = await RawClient.connect(tracker, t);
    // "GET " is the length 0x47455420, about 1.2 GB.
    raw.write('GET / HTTP/1.1\r\nHost: tracker\r\n\r\n');
    await raw.closed;
    assertError(raw.frames[0], null, 'request.too_large');
    await expectServing(tracker);
  });

  test('garbage instead of a TLS handshake: dropped, and the tracker serves on', async (t) => {
    const socket = net.connect({ host: tracker.host, port: tracker.port });
    t.after(() => {
      socket.destroy();
    });
    socket.on('error', () => {});
    await once(socket, 'connect');
    const closed = once(socket, 'close');
    socket.write(Buffer.concat([Buffer.from('GET / HTTP/1.1\r\n\r\n'), Buffer.alloc(2000, 0xa5)]));
    await closed;
    await tracker.waitForOutput(/TLS handshake failed/);
    await expectServing(tracker);
  });
});

describe('frames that are not requests', () => {
  test('invalid JSON in a well-formed frame: request.invalid with id null, in its turn; the stream goes on', async (t) => {
    const raw = await RawClient.connect(tracker, t);
    raw.write(Buffer.concat([ping(1), rawFrame('{"id":2,"type":"ping"'), ping(3), rawFrame(Buffer.from([0xff, 0xfe, 0x7b, 0x7d])), ping(4)]));
    const frames = await raw.waitFrames(5);
    assertPong(frames[0], 1);
    assertError(frames[1], null, 'request.invalid');
    assertPong(frames[2], 3);
    assertError(frames[3], null, 'request.invalid');
    assertPong(frames[4], 4);
    // And a later write on the same stream is still served.
    raw.write(ping(5));
    assertPong((await raw.waitFrames(6))[5], 5);
    await expectServing(tracker);
  });

  test('a request with fields of the wrong type: request.invalid with its id', async (t) => {
    const raw = await RawClient.connect(tracker, t);
    raw.send({ id: 1, type: 'login', user: 5 });
    raw.send({ id: 2, type: 'login', user: 'alice', authKey: 'not base64url!', peerPort: 1 });
    raw.send({ id: 3, type: 'login', user: 'alice', authKey: Buffer.alloc(32).toString('base64url'), peerPort: 70000 });
    raw.send({ id: 4, type: 'room_log', room: 'x', from: -1 });
    raw.send({ id: 5, type: 'get_keys', users: 'alice' });
    raw.write(ping(6));
    const frames = await raw.waitFrames(6);
    for (let id = 1; id <= 5; id++) assertError(frames[id - 1], id, 'request.invalid');
    assertPong(frames[5], 6);
    await expectServing(tracker);
  });

  test('an unknown type: request.unknown_type with the id; a missing or non-string one: request.invalid', async (t) => {
    const raw = await RawClient.connect(tracker, t);
    const types = ['fly', '__proto__', 'constructor', 'toString', ''];
    types.forEach((type, i) => raw.send({ id: i + 1, type }));
    raw.send({ id: 100 });
    raw.send({ id: 102, type: 42 });
    raw.send({ id: 103, type: null });
    raw.write(ping(101));
    const frames = await raw.waitFrames(types.length + 4);
    types.forEach((_, i) => assertError(frames[i], i + 1, 'request.unknown_type'));
    assertError(frames[types.length], 100, 'request.invalid');
    assertError(frames[types.length + 1], 102, 'request.invalid');
    assertError(frames[types.length + 2], 103, 'request.invalid');
    assertPong(frames[types.length + 3], 101);
    await expectServing(tracker);
  });

  test('a 32,000-deep list as the type: request.invalid with the id, and no stack trace in the log', async (t) => {
    const raw = await RawClient.connect(tracker, t);
    const depth = 32_000;
    raw.write(rawFrame(`{"id":7,"type":${'['.repeat(depth)}${']'.repeat(depth)}}`));
    // `__proto__` keys are plain own keys: never a source of fields.
    raw.write(rawFrame(`{"id":8,"type":"ping","__proto__":{"id":9}}`));
    raw.write(rawFrame(`{"__proto__":{"id":10,"type":"ping"}}`));
    raw.write(ping(11));
    const frames = await raw.waitFrames(4);
    assertError(frames[0], 7, 'request.invalid');
    assert.ok((frames[0] as { error: { message: string } }).error.message.length < 200);
    assertPong(frames[1], 8);
    assertError(frames[2], null, 'request.invalid');
    assertPong(frames[3], 11);
    await expectServing(tracker);
    assert.doesNotMatch(tracker.output(), /request failed|RangeError|Maximum call stack|\n\s+at /);
  });

  test('a missing or malformed id: request.invalid with id null', async (t) => {
    const raw = await RawClient.connect(tracker, t);
    const bad = [{ type: 'ping' }, { id: '1', type: 'ping' }, { id: -1, type: 'ping' }, { id: 1.5, type: 'ping' }, { id: null, type: 'ping' }, { id: 2 ** 60, type: 'ping' }];
    for (const frame of bad) raw.send(frame);
    raw.write(ping(9));
    const frames = await raw.waitFrames(bad.length + 1);
    bad.forEach((_, i) => assertError(frames[i], null, 'request.invalid'));
    assertPong(frames[bad.length], 9);
    await expectServing(tracker);
  });

  test('a JSON array, number, string, boolean or null as the frame: request.invalid with id null', async (t) => {
    const raw = await RawClient.connect(tracker, t);
    const values = ['[]', '[{"id":1,"type":"ping"}]', '42', '"ping"', 'true', 'null', '{}'];
    for (const v of values) raw.write(rawFrame(v));
    raw.write(ping(3));
    const frames = await raw.waitFrames(values.length + 1);
    values.forEach((_, i) => assertError(frames[i], null, 'request.invalid'));
    assertPong(frames[values.length], 3);
    await expectServing(tracker);
  });

  test('deeply nested JSON: answered, never a crash', async (t) => {
    const raw = await RawClient.connect(tracker, t);
    const depth = 20_000;
    raw.write(rawFrame('['.repeat(depth) + ']'.repeat(depth)));
    raw.write(rawFrame('{"a":'.repeat(depth / 2) + '1' + '}'.repeat(depth / 2)));
    // Nested inside a request: unknown fields are dropped unread, in the right places refused.
    raw.write(rawFrame(`{"id":5,"type":"ping","x":${'['.repeat(depth)}${']'.repeat(depth)}}`));
    raw.write(rawFrame(`{"id":6,"type":"get_keys","users":${'['.repeat(depth)}${']'.repeat(depth)}}`));
    raw.write(rawFrame(`{"id":7,"type":"prelogin","user":${'{"a":'.repeat(depth / 2)}1${'}'.repeat(depth / 2)}}`));
    raw.write(ping(8));
    const frames = await raw.waitFrames(6);
    assertError(frames[0], null, 'request.invalid');
    assertError(frames[1], null, 'request.invalid');
    assertPong(frames[2], 5);
    assertError(frames[3], 6, 'request.invalid');
    assertError(frames[4], 7, 'request.invalid');
    assertPong(frames[5], 8);
    await expectServing(tracker);
  });

  test('a request before login: auth.required, and the connection may still log in', async (t) => {
    const raw = await RawClient.connect(tracker, t);
    const types = ['list_rooms', 'list_peers', 'logout', 'get_keys', 'room_log'];
    const params: Record<string, object> = { get_keys: { users: ['alice'] }, room_log: { room: Buffer.alloc(32).toString('base64url'), from: 0 } };
    types.forEach((type, i) => raw.send({ id: i + 1, type, ...params[type] }));
    raw.send({ id: 10, type: 'prelogin', user: 'nobody-here' });
    const frames = await raw.waitFrames(types.length + 1);
    types.forEach((_, i) => assertError(frames[i], i + 1, 'auth.required'));
    assert.equal((frames[types.length] as Frame).ok, true);
    await expectServing(tracker);
  });
});

describe('frames split and coalesced', () => {
  test('a frame written one byte at a time is answered', async (t) => {
    const raw = await RawClient.connect(tracker, t);
    const frame = encodeFrame({ id: 42, type: 'prelogin', user: 'byte-by-byte' });
    for (const byte of frame) {
      // Each byte is its own TLS record, handed to the kernel before the next is written.
      await new Promise<void>((resolve, reject) => raw.socket.write(Buffer.of(byte), (err) => (err ? reject(err) : resolve())));
    }
    const [answer] = await raw.waitFrames(1);
    assert.equal((answer as Frame).id, 42);
    assert.equal((answer as Frame).ok, true);
    assert.equal(typeof (answer as Frame).salt, 'string');
  });

  test('many frames in one write are all answered, in order', async (t) => {
    const raw = await RawClient.connect(tracker, t);
    const count = 200;
    const frames: Buffer[] = [];
    for (let id = 1; id <= count; id++) {
      if (id % 10 === 0) frames.push(encodeFrame({ id, type: 'list_rooms' }));
      else if (id % 7 === 0) frames.push(encodeFrame({ id, type: 'prelogin', user: `user${id}` }));
      else frames.push(ping(id));
    }
    raw.write(Buffer.concat(frames));
    const answers = (await raw.waitFrames(count)) as Frame[];
    assert.deepEqual(answers.map((a) => a.id), Array.from({ length: count }, (_, i) => i + 1));
    for (const a of answers) {
      const id = a.id as number;
      if (id % 10 === 0) assertError(a, id, 'auth.required');
      else assert.equal(a.ok, true);
    }
    assert.equal(raw.isClosed, false);
  });

  test('frames split at every boundary across writes are answered in order', async (t) => {
    const raw = await RawClient.connect(tracker, t);
    const all = Buffer.concat(Array.from({ length: 20 }, (_, i) => ping(i + 1)));
    // Cut into pieces of 1, 2, 3 … bytes, so headers and bodies straddle writes.
    for (let at = 0, size = 1; at < all.length; at += size, size = (size % 9) + 1) {
      await new Promise<void>((resolve) => raw.socket.write(all.subarray(at, at + size), () => resolve()));
    }
    const answers = (await raw.waitFrames(20)) as Frame[];
    assert.deepEqual(answers.map((a) => a.id), Array.from({ length: 20 }, (_, i) => i + 1));
  });
});
