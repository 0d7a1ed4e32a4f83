// protocol/names.ts: what a name may be, what a new name must be, and the confusable skeleton
// (Unicode TS #39, restricted to our alphabet) that tells look-alike names apart.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError } from '../../protocol/errors.ts';
import { checkNewRoomName, checkNewUserName, nameSkeleton, normalizeRoomName, normalizeUserName } from '../../protocol/names.ts';

const refuses = (fn: () => unknown, code: string) =>
  assert.throws(fn, (e: unknown) => e instanceof ProtocolError && e.code === code);

describe('user names', () => {
  test('two-character names are names (li, ed); one character is not', () => {
    for (const name of ['li', 'ed', 'Li', ' ed ']) assert.equal(checkNewUserName(name), name.trim().toLowerCase());
    refuses(() => normalizeUserName('x'), 'auth.invalid_name');
    refuses(() => normalizeUserName('x'.repeat(33)), 'auth.invalid_name');
    assert.match(String((() => { try { normalizeUserName('x'); } catch (e) { return (e as Error).message; } })()), /2 to 32/);
  });

  test('a new name needs a letter or digit; an old punctuation-only name stays readable', () => {
    for (const name of ['...', '___', '-.', '._-', '--']) {
      refuses(() => checkNewUserName(name), 'auth.invalid_name');
      assert.equal(normalizeUserName(name), name, 'names stored before the rule still parse');
    }
    assert.equal(checkNewUserName('a.'), 'a.');
    assert.equal(checkNewUserName('_7'), '_7');
  });
});

describe('room names', () => {
  test('one character with a letter or digit is a room; punctuation only is not', () => {
    assert.equal(checkNewRoomName('x'), 'x');
    assert.equal(checkNewRoomName('#General'), 'general');
    for (const name of ['-', '.', '_', '#-', '...']) refuses(() => checkNewRoomName(name), 'request.invalid');
    assert.equal(normalizeRoomName('-'), '-');
  });
});

describe('nameSkeleton', () => {
  const same = (a: string, b: string) => assert.equal(nameSkeleton(a), nameSkeleton(b), `${a} and ${b} look alike`);
  const apart = (a: string, b: string) => assert.notEqual(nameSkeleton(a), nameSkeleton(b), `${a} and ${b} are told apart`);

  test('the look-alikes of the issue share a skeleton', () => {
    same('alice', 'a1ice');
    same('alice', 'alice.');
    same('alice', 'al-ice');
    same('alice', 'aIice'); // capital I, as typed: names are case-insensitive
    same('mallory', 'rnallory');
    same('mallory', 'ma11ory');
    same('general', 'genera1');
    same('general', 'general_');
    same('general', '_gen.er-al_');
    same('bob', 'b0b');
    same('wendy', 'vvendy');
  });

  test('cl and d share a skeleton (TS #39 d → cl), also as c1 and ci', () => {
    same('dora', 'clora');
    same('design', 'clesign');
    same('clara', 'dara');
    same('dora', 'c1ora');
    same('dora', 'ciora');
    same('dora', 'c-lora');
    same('ed', 'ecl');
    assert.equal(nameSkeleton('dora'), 'clora');
    assert.equal(nameSkeleton('design'), 'cleslgn');
    apart('dora', 'lora');
    apart('dora', 'cora');
  });

  test('different names stay apart (no leetspeak, no 5/s)', () => {
    apart('alice', 'alica');
    apart('sam', '5am');
    apart('eve', '3ve');
    apart('ann', 'anna');
    apart('li', 'ed');
    apart('mia', 'nia');
  });

  test('is pure and total over the alphabet', () => {
    assert.equal(nameSkeleton('alice'), 'allce');
    assert.equal(nameSkeleton('mallory'), 'rnallory');
    assert.equal(nameSkeleton('...'), '');
    assert.equal(nameSkeleton('w0m1i'), 'vvornll');
    assert.equal(nameSkeleton('d1d'), 'cllcl');
  });
});
