import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { arr, b64url, bool, int, literal, obj, oneOf, optional, str, variants } from '../../protocol/schema.ts';
import { ProtocolError } from '../../protocol/errors.ts';
import { trackerEventSchema, trackerRequestSchema } from '../../protocol/tracker.ts';

/** Asserts a ProtocolError with `code` whose message matches `message`. */
const refuses = (fn: () => unknown, message: RegExp, code = 'request.invalid') =>
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ProtocolError, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, message);
    return true;
  });

describe('str', () => {
  test('accepts strings within bounds and refuses the rest, naming the field', () => {
    const s = str({ min: 2, max: 4, pattern: /^[a-z]+$/ });
    assert.equal(s.parse('abcd'), 'abcd');
    refuses(() => s.parse(12, 'user'), /^user must be a string$/);
    refuses(() => s.parse('a', 'user'), /user must be at least 2 characters/);
    refuses(() => s.parse('abcde'), /^value must be at most 4 characters/);
    refuses(() => s.parse('AB'), /has an invalid format/);
    refuses(() => s.parse(null), /must be a string/);
  });

  test('is capped at 1024 characters unless told otherwise', () => {
    assert.equal(str().parse('x'.repeat(1024)).length, 1024);
    refuses(() => str().parse('x'.repeat(1025)), /at most 1024/);
  });
});

describe('b64url', () => {
  test('with bytes, takes exactly that many bytes of unpadded base64url', () => {
    const key = b64url({ bytes: 32 });
    const good = Buffer.alloc(32, 0xfb).toString('base64url');
    assert.equal(good.length, 43);
    assert.equal(key.parse(good), good);
    refuses(() => key.parse(good.slice(1)), /at least 43/);
    refuses(() => key.parse(good + 'A'), /at most 43/);
    refuses(() => key.parse(Buffer.alloc(32, 0xfb).toString('base64')), /invalid format|at most/); // + / =
    refuses(() => key.parse('+'.repeat(43)), /invalid format/);
  });

  test('with maxBytes, caps the length and refuses impossible lengths', () => {
    const blob = b64url({ maxBytes: 6 });
    assert.equal(blob.parse('AAAAAAAA'), 'AAAAAAAA');
    refuses(() => blob.parse('AAAAAAAAA'), /at most 8/);
    refuses(() => blob.parse('AAAAA'), /not valid base64url/); // 5 chars: length % 4 == 1 decodes to nothing
    refuses(() => blob.parse(''), /at least 1/);
    refuses(() => blob.parse('AA=='), /invalid format/);
  });
});

describe('int, bool, literal, oneOf', () => {
  test('int takes safe integers in range only', () => {
    const port = int({ min: 0, max: 65535 });
    assert.equal(port.parse(0), 0);
    assert.equal(port.parse(65535), 65535);
    for (const bad of [1.5, NaN, Infinity, '1', null, 2 ** 53]) refuses(() => port.parse(bad), /must be an integer/);
    refuses(() => port.parse(-1), /between 0 and 65535/);
    refuses(() => port.parse(65536), /between 0 and 65535/);
    assert.equal(int().parse(-(2 ** 53) + 1), -(2 ** 53) + 1);
  });

  test('bool takes only true and false', () => {
    assert.equal(bool().parse(false), false);
    for (const bad of [0, 'true', null, undefined]) refuses(() => bool().parse(bad), /true or false/);
  });

  test('literal takes its value only, compared strictly', () => {
    assert.equal(literal(1).parse(1), 1);
    refuses(() => literal(1).parse('1'), /must be 1/);
    refuses(() => literal('a').parse('b'), /must be "a"/);
  });

  test('oneOf takes the listed strings only', () => {
    const kind = oneOf('join', 'leave');
    assert.equal(kind.parse('leave'), 'leave');
    refuses(() => kind.parse('kick'), /one of join, leave/);
    refuses(() => kind.parse(['join']), /one of join, leave/);
  });
});

describe('arr and optional', () => {
  test('arr checks every item, names its index, and caps the count', () => {
    const list = arr(int(), { max: 3 });
    assert.deepEqual(list.parse([1, 2, 3]), [1, 2, 3]);
    refuses(() => list.parse([1, 'x'], 'ids'), /^ids\[1\] must be an integer/);
    refuses(() => list.parse([1, 2, 3, 4]), /at most 3 items/);
    refuses(() => list.parse({ length: 1, 0: 1 }), /must be a list/);
    refuses(() => arr(int()).parse(new Array(1001).fill(0)), /at most 1000 items/);
  });

  test('optional lets undefined through, but not null', () => {
    const o = optional(int());
    assert.equal(o.parse(undefined), undefined);
    assert.equal(o.parse(3), 3);
    refuses(() => o.parse(null), /must be an integer/);
  });
});

describe('obj', () => {
  const user = obj({ name: str(), age: optional(int()), tags: arr(str()), address: obj({ city: str() }) });

  test('keeps declared keys and drops unknown ones', () => {
    const parsed = user.parse({ name: 'a', age: 3, tags: [], address: { city: 'x', zip: '1' }, admin: true, __proto__: { polluted: 1 } });
    assert.deepEqual(parsed, { name: 'a', age: 3, tags: [], address: { city: 'x' } });
    assert.ok(!Object.hasOwn(parsed, 'admin'));
    assert.equal((parsed as Record<string, unknown>).polluted, undefined);
  });

  test('omits an absent optional key rather than setting it to undefined', () => {
    const parsed = user.parse({ name: 'a', tags: [], address: { city: 'x' } });
    assert.ok(!('age' in parsed));
  });

  test('refuses missing fields and non-objects, with the nested path', () => {
    refuses(() => user.parse({ name: 'a', tags: [] }), /^address must be an object$/);
    refuses(() => user.parse({ name: 'a', tags: [], address: {} }), /^address\.city must be a string$/);
    refuses(() => user.parse({ name: 'a', tags: ['ok', 5], address: { city: 'x' } }), /^tags\[1\] must be a string$/);
    for (const bad of [null, [], 'x', 1]) refuses(() => user.parse(bad), /^value must be an object$/);
  });
});

describe('variants', () => {
  const table = { add: obj({ n: int() }), reset: obj({}) };

  test('parses by the tag and puts the tag back; unknown keys are dropped', () => {
    const v = variants('op', table);
    assert.deepEqual(v.parse({ op: 'add', n: 2, extra: 'x' }), { op: 'add', n: 2 });
    assert.deepEqual(v.parse({ op: 'reset', n: 2 }), { op: 'reset' });
    refuses(() => v.parse({ op: 'add', n: 'two' }), /^n must be an integer/);
  });

  test('an unknown, missing or inherited tag is request.invalid by default', () => {
    const v = variants('op', table);
    for (const op of ['mul', 'toString', '__proto__', 'hasOwnProperty']) {
      refuses(() => v.parse({ op }), /unknown op/);
    }
    for (const op of [undefined, 5, null, ['add']]) refuses(() => v.parse({ op }), /^op must be a string/);
    refuses(() => v.parse(null), /must be an object/);
  });

  test('or the code given, which tracker requests use: request.unknown_type', () => {
    const v = variants('op', table, 'request.unknown_type');
    refuses(() => v.parse({ op: 'mul' }), /unknown op "mul"/, 'request.unknown_type');
    refuses(() => trackerRequestSchema.parse({ id: 1, type: 'drop_tables' }), /unknown type "drop_tables"/, 'request.unknown_type');
    // a known type with bad fields is still request.invalid
    refuses(() => trackerRequestSchema.parse({ id: 1, type: 'prelogin', user: 5 }), /^user must be a string/);
    assert.deepEqual(trackerRequestSchema.parse({ id: 1, type: 'prelogin', user: 'alice' }), { type: 'prelogin', user: 'alice' });
  });

  test('tracker events with an unknown name are request.invalid', () => {
    refuses(() => trackerEventSchema.parse({ event: 'teleport' }), /unknown event "teleport"/);
    assert.deepEqual(trackerEventSchema.parse({ event: 'closing', code: 'slow_consumer', message: 'bye', extra: 1 }), {
      event: 'closing',
      code: 'slow_consumer',
      message: 'bye',
    });
  });
});

describe('hostile shapes get request.invalid, never another error', () => {
  const nested = (depth: number): unknown => JSON.parse('['.repeat(depth) + ']'.repeat(depth));

  test('a 32,000-deep list as a request type: request.invalid, with a short message', () => {
    const deep = nested(32_000);
    // The old message serialized the tag: JSON.stringify overflows the stack on this value.
    assert.throws(() => JSON.stringify(deep), RangeError);
    refuses(() => trackerRequestSchema.parse({ id: 1, type: deep }), /^type must be a string, not a list$/);
    refuses(() => trackerEventSchema.parse({ event: deep }), /^event must be a string/);
    const huge = 'x'.repeat(60_000);
    assert.throws(
      () => trackerRequestSchema.parse({ id: 1, type: huge }),
      (e: unknown) => e instanceof ProtocolError && e.code === 'request.unknown_type' && e.message.length < 100,
    );
  });

  test('deep values in fields, huge lists and many keys are refused by shape, not walked', () => {
    refuses(() => trackerRequestSchema.parse({ id: 1, type: 'get_keys', users: nested(32_000) }), /^users\[0\] must be a string/);
    refuses(() => trackerRequestSchema.parse({ id: 1, type: 'get_keys', users: new Array(1_000_000).fill('a') }), /at most 256 items/);
    const wide = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, i]));
    assert.deepEqual(trackerRequestSchema.parse({ ...wide, id: 1, type: 'ping' }), { type: 'ping' });
  });

  test('getters, proxies and throwing accessors are never run; the value is refused', () => {
    let ran = false;
    const withGetter = { type: 'prelogin' } as Record<string, unknown>;
    Object.defineProperty(withGetter, 'user', { enumerable: true, get: () => ((ran = true), 'alice') });
    refuses(() => trackerRequestSchema.parse(withGetter), /^user must be a string/);
    const tagGetter = {} as Record<string, unknown>;
    Object.defineProperty(tagGetter, 'type', { enumerable: true, get: () => { throw new Error('boom'); } });
    refuses(() => trackerRequestSchema.parse(tagGetter), /^type must be a string/);
    const listGetter: unknown[] = ['a'];
    Object.defineProperty(listGetter, 0, { get: () => { throw new TypeError('boom'); } });
    refuses(() => arr(str()).parse(listGetter), /^\[0\] must be a string/);
    assert.equal(ran, false);
    const trap = new Proxy({}, { getOwnPropertyDescriptor: () => { throw new TypeError('trap'); }, get: () => { throw new TypeError('trap'); } });
    refuses(() => trackerRequestSchema.parse(trap), /could not be read/);
    refuses(() => obj({ a: str() }).parse(trap, 'field'), /^field could not be read$/);
    const { proxy, revoke } = Proxy.revocable([], {});
    revoke();
    refuses(() => arr(str()).parse(proxy), /could not be read/);
  });

  test('__proto__, constructor and inherited keys are not fields', () => {
    const parsed = JSON.parse('{"__proto__":{"user":"mallory"},"type":"prelogin"}');
    refuses(() => trackerRequestSchema.parse(parsed), /^user must be a string/);
    const inherited = Object.create({ user: 'mallory', type: 'prelogin' });
    refuses(() => trackerRequestSchema.parse(inherited), /^type must be a string/);
    const shaped = obj({ constructor: optional(str()), toString: optional(str()) });
    assert.deepEqual(shaped.parse({}), {});
  });
});
