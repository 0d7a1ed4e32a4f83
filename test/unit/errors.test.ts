// protocol/errors.ts: one registry of codes, one coded error class (issue 8, item 4). The
// registry declares each code once; the old lists are views of it; the tracker's wire codes are
// the ones old clients accept; no other coded error class and no branching on message text.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ALL_ERROR_CODES, ERROR_CODES, ERROR_REGISTRY, LINK_ERROR_CODES, ProtocolError,
  areaOf, codesIn, isCoded, isDeclaredCode, isErrorCode, type ErrorArea,
} from '../../protocol/errors.ts';
import { REPO_ROOT } from '../helpers/tracker-process.ts';

test('every code is declared once, in one area, with a one-line description', () => {
  const seen = new Map<string, string>();
  for (const [area, codes] of Object.entries(ERROR_REGISTRY)) {
    for (const [code, entry] of Object.entries(codes)) {
      assert.equal(seen.get(code), undefined, `${code} is declared in ${seen.get(code)} and ${area}`);
      seen.set(code, area);
      assert.match(entry.doc, /^[^\n]+$/, `${code}: one line`);
      assert.match(code, /^[a-z_]+(\.[a-z_]+)?$/, code);
    }
  }
  assert.equal(ALL_ERROR_CODES.length, seen.size);
  assert.deepEqual(new Set(ALL_ERROR_CODES), new Set(seen.keys()));
  for (const code of ALL_ERROR_CODES) assert.equal(areaOf(code), seen.get(code));
});

test('every area is present, and dotted codes sit in the area they name', () => {
  const areas: ErrorArea[] = ['request', 'auth', 'room', 'user', 'message', 'session', 'link', 'tracker', 'crypto', 'quota', 'server'];
  assert.deepEqual(Object.keys(ERROR_REGISTRY).sort(), [...areas].sort());
  for (const area of areas) assert.ok(codesIn(area).length > 0, area);
  const home: Record<string, ErrorArea> = { key: 'user' };
  for (const code of ALL_ERROR_CODES) {
    const prefix = code.includes('.') ? code.slice(0, code.indexOf('.')) : undefined;
    if (prefix) assert.equal(areaOf(code), home[prefix] ?? prefix, code);
  }
  for (const code of ['crypto.bad_key', 'crypto.decrypt_failed', 'crypto.low_order_point', 'tracker.unreachable',
    'tracker.untrusted', 'tracker.fingerprint_mismatch', 'auth.weak_password', 'message.blank', 'session.ended', 'link.busy', 'key_changed']) {
    assert.ok(isDeclaredCode(code), code);
  }
});

test("the tracker's wire codes are exactly the ones old clients accept (they may only grow)", () => {
  // The list as it stood before the registry (protocol/errors.ts ERROR_CODES at 414c686).
  const before = [
    'request.invalid', 'request.too_large', 'request.unknown_type', 'auth.required', 'auth.bad_credentials',
    'auth.salt_changed', 'auth.bad_token', 'auth.user_exists', 'auth.invalid_name', 'auth.already_authenticated',
    'rate_limited', 'room.not_found', 'room.name_taken', 'room.bad_password', 'room.not_owner', 'room.not_member',
    'room.already_member', 'room.closed', 'room.stale_head', 'room.bad_signature', 'room.invalid_event', 'room.forked',
    'user.not_found', 'key.fingerprint_mismatch', 'message.blank', 'server.busy', 'server.timeout', 'server.shutdown',
    'slow_consumer', 'quota.exceeded', 'internal',
  ];
  assert.deepEqual([...ERROR_CODES].sort(), [...before].sort());
  for (const code of before) assert.ok(isErrorCode(code), code);
  for (const code of ['crypto.bad_key', 'link.busy', 'tracker.unreachable', 'auth.weak_password', 'session.ended']) {
    assert.equal(isErrorCode(code), false, `${code} must not go on the wire`);
  }
  assert.deepEqual([...LINK_ERROR_CODES], codesIn('link'));
});

test('isCoded, isDeclaredCode and the one class', () => {
  const e = new ProtocolError('rate_limited', 'slow down', 1500);
  assert.ok(e instanceof Error);
  assert.deepEqual([e.name, e.code, e.message, e.retryAfterMs], ['ProtocolError', 'rate_limited', 'slow down', 1500]);
  assert.ok(isCoded(e));
  assert.ok(isCoded(e, 'rate_limited'));
  assert.equal(isCoded(e, 'server.busy'), false);
  assert.equal(isCoded(Object.assign(new Error('x'), { code: 'rate_limited' })), false, 'a code pasted on an Error is not a coded error');
  assert.equal(isCoded(undefined), false);
  const cause = new Error('underneath');
  const d = new ProtocolError('link.busy', 'evicted', { details: { evicted: true }, cause });
  assert.deepEqual([d.details, d.cause, d.retryAfterMs], [{ evicted: true }, cause, undefined]);
  assert.equal(isDeclaredCode('link.busy'), true);
  assert.equal(isDeclaredCode('ECONNREFUSED'), false);
  assert.equal(isDeclaredCode('looks.like_one'), false);
  assert.equal(isDeclaredCode(42), false);
});

const SOURCE_DIRS = ['protocol', 'peer', 'tracker', 'extension', 'webview'];
function sources(): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(join(REPO_ROOT, dir))) {
      const rel = join(dir, name);
      if (name === 'node_modules' || name === 'dist') continue;
      if (statSync(join(REPO_ROOT, rel)).isDirectory()) walk(rel);
      else if (/\.(ts|tsx)$/.test(name)) out.push({ path: rel, text: readFileSync(join(REPO_ROOT, rel), 'utf8') });
    }
  };
  for (const dir of SOURCE_DIRS) walk(dir);
  return out;
}

test('no other error class: ProtocolError is the one with a code; the rest are process-exit plumbing without one', () => {
  // Kept on purpose: they end a process with a message and carry no code.
  const plumbing = new Set(['peer/cli-interactive.ts Cancelled', 'peer/main.ts UsageError', 'tracker/accounts.ts SecretMismatchError', 'tracker/config.ts ConfigError']);
  const found: string[] = [];
  for (const { path, text } of sources()) {
    for (const m of text.matchAll(/class\s+(\w+)\s+extends\s+(\w*Error)\b[^{]*\{/g)) {
      const name = `${path} ${m[1]}`;
      if (name === 'protocol/errors.ts ProtocolError') continue;
      found.push(name);
      // The class body up to the next top-level closing brace.
      const body = text.slice(m.index! + m[0].length, text.indexOf('\n}', m.index!));
      assert.doesNotMatch(body, /\bcode\b/, `${name} carries a code: use ProtocolError`);
    }
    assert.doesNotMatch(text, /Object\.assign\(new Error\([^;]*\{\s*code:/, `${path} pastes a code on an Error: use ProtocolError`);
  }
  assert.deepEqual(new Set(found), plumbing);
});

test('nothing branches on the text of an error message', () => {
  const patterns = [
    /\b(err|error|e|reason|detail)\??\.message\??\.(startsWith|endsWith|includes|match)\(/,
    /\.test\(\s*String\(\s*(err|error|e|reason)\b/,
    /\.test\(\s*\(?\s*(err|error|e|reason)\b[^)]*\)?\.message/,
  ];
  // node-sqlite3 gives no extended result code: the constraint kind is only in SQLite's text.
  const allowed = new Set(['tracker/db.ts']);
  for (const { path, text } of sources()) {
    if (allowed.has(path)) continue;
    for (const p of patterns) assert.doesNotMatch(text, p, `${path} branches on an error's wording`);
  }
});
