// Chat engines for integration tests: each with its own data folder and sockets, against a real
// tracker process. Registration uses cheap scrypt (FAST_SCRYPT_PARAMS); real clients never do.
//
// Unexpected errors fail the test (issue 8; like bittorrent-tracker's `server.on('warning', t.error)`).
// Every engine made here records each `error` event it emits. Recording stops for all engines of
// a test when its teardown begins: when the test's body has ended (a file-level `afterEach`
// registered here, which node:test runs before the test's own `after` steps, such as the
// tracker's stop), or else at the first of its engines' `after` steps. Errors emitted after that
// (links closing, the tracker going away) are not recorded. Each engine's `after` step checks,
// before closing the engine, that it recorded no error the test did not declare; if it did, the
// test fails, from a step added at the end of the teardown so that every other step still runs.
//
// An error counts as declared when any of these, made on that engine at any time in the test
// (also after the error), accepts it:
//   - `expectErrors` in the options of `makeEngine`/`registered`, or `expectErrors(engine, [...])`:
//     a string is an exact code, a RegExp is tested against the code, a function gets the event;
//   - `allowErrors(engine, predicate)`: the predicate gets the event ({ code, message });
//   - `collect(engine, 'error')`: the test takes every error of that engine as its own to check;
//   - `waitFor(engine, 'error', pred)`: the errors `pred` accepts (every error, without a pred).
// A listener the test adds itself with `engine.on('error', ...)` declares nothing. Set P2P_DEBUG
// to print every error as it happens.

import { AssertionError } from 'node:assert';
import { afterEach } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientEvents } from '../../protocol/client.ts';
import { ChatEngine, type EngineOptions } from '../../peer/engine.ts';
import { FAST_SCRYPT_PARAMS } from './accounts.ts';

export const PASSWORD = 'plum vortex kayak marble 17';

interface After {
  after(fn: () => unknown): void;
}

export interface TestEngine extends ChatEngine {
  dataDir: string;
}

export type EngineError = ClientEvents['error'];
/** A string is an exact error code, a RegExp is tested against the code, a function gets the event. */
export type ErrorMatcher = string | RegExp | ((e: EngineError) => boolean);
export interface TestEngineOptions {
  /** Errors this engine is expected to emit (see the top of this file). */
  expectErrors?: ErrorMatcher[];
}

interface Group {
  tornDown: boolean;
  failures: string[];
  reporting: boolean;
}

interface ErrorWatch {
  group: Group;
  /** The engine's user when it last emitted an error (an engine closed in the test has none). */
  user?: string;
  seen: EngineError[];
  allowed: ((e: EngineError) => boolean)[];
}

const watches = new WeakMap<ChatEngine, ErrorWatch>();
const groups = new WeakMap<After, Group>();

// Only inside a test run: a benchmark that imports this file must not start node:test's harness.
if (process.env.NODE_TEST_CONTEXT || /\.test\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) {
  afterEach((t: unknown) => {
    const group = groups.get(t as After);
    if (group) beginTeardown(group);
  });
}

function toPredicate(m: ErrorMatcher): (e: EngineError) => boolean {
  if (typeof m === 'string') return (e) => e.code === m;
  if (m instanceof RegExp) return (e) => new RegExp(m.source, m.flags.replace('g', '')).test(e.code);
  return m;
}

function watchOf(engine: ChatEngine): ErrorWatch {
  const w = watches.get(engine);
  if (!w) throw new Error('not an engine made by test/helpers/engines.ts');
  return w;
}

/** Declares errors this engine is expected to emit: codes (string: exact, RegExp: tested) or predicates. */
export function expectErrors(engine: ChatEngine, matchers: ErrorMatcher[]): void {
  watchOf(engine).allowed.push(...matchers.map(toPredicate));
}

/** Declares every error `predicate` accepts as expected from this engine. */
export function allowErrors(engine: ChatEngine, predicate: (e: EngineError) => boolean): void {
  watchOf(engine).allowed.push(predicate);
}

/** The errors this engine emitted (before teardown began) that nothing declared. */
export function unexpectedErrors(engine: ChatEngine): EngineError[] {
  const w = watchOf(engine);
  return w.seen.filter((e) => !w.allowed.some((ok) => {
    try {
      return ok(e);
    } catch {
      return false;
    }
  }));
}

/** Throws an AssertionError listing the engine's undeclared errors, if there are any. */
export function checkErrors(engine: ChatEngine & { dataDir?: string }): void {
  const bad = unexpectedErrors(engine);
  if (bad.length === 0) return;
  const who = engine.user ?? watches.get(engine)?.user ?? engine.dataDir ?? 'engine';
  const list = bad.map((e) => `  ${e.code}: ${e.message}`).join('\n');
  throw new AssertionError({
    message: `${who} emitted ${bad.length} error event(s) the test did not declare (expectErrors, allowErrors, collect or waitFor on 'error'):\n${list}`,
  });
}

/** Stops recording errors for every engine of this test: teardown has begun. */
function beginTeardown(group: Group): void {
  group.tornDown = true;
}

/** Fails the test from a teardown step added last: a step that throws ends node:test's teardown. */
function failLater(t: After, group: Group, err: unknown): void {
  group.failures.push(err instanceof Error ? err.message : String(err));
  if (group.reporting) return;
  group.reporting = true;
  t.after(() => {
    group.reporting = false;
    throw new AssertionError({ message: group.failures.splice(0).join('\n') });
  });
}

export async function makeEngine(t: After, tracker: { host: string; port: number }, opts: Partial<EngineOptions> & TestEngineOptions & { dataDir?: string } = {}): Promise<TestEngine> {
  const { expectErrors: expected = [], ...engineOpts } = opts;
  const dataDir = engineOpts.dataDir ?? (await mkdtemp(join(tmpdir(), 'p2p-engine-')));
  const engine = new ChatEngine({ dataDir, tracker, peerHost: '127.0.0.1', scryptParams: FAST_SCRYPT_PARAMS, backoffMs: [50, 100, 200], ...engineOpts }) as TestEngine;
  engine.dataDir = dataDir;
  let group = groups.get(t);
  if (!group) groups.set(t, (group = { tornDown: false, failures: [], reporting: false }));
  const watch: ErrorWatch = { group, seen: [], allowed: expected.map(toPredicate) };
  watches.set(engine, watch);
  engine.on('error', (e) => {
    watch.user = engine.user ?? watch.user;
    if (!watch.group.tornDown) watch.seen.push(e);
  });
  if (process.env.P2P_DEBUG) engine.on('error', (e) => console.error('[engine error]', engine.user, e.code, e.message));
  t.after(async () => {
    beginTeardown(watch.group);
    let failure: unknown;
    try {
      checkErrors(engine);
    } catch (err) {
      failure = err;
    }
    await engine.close().catch(() => {});
    // Removed in a step added last: a later engine of this test may run on the same folder
    // (a restart) and is closed only by its own, later step (removing it now raced its writes).
    if (!engineOpts.dataDir) t.after(() => rm(dataDir, { recursive: true, force: true, maxRetries: 3 }));
    if (failure) failLater(t, watch.group, failure);
  });
  return engine;
}

export async function registered(t: After, tracker: { host: string; port: number }, user: string, opts: Partial<EngineOptions> & TestEngineOptions = {}): Promise<TestEngine> {
  const engine = await makeEngine(t, tracker, opts);
  await engine.register(user, PASSWORD);
  await engine.login(user, PASSWORD);
  return engine;
}

/**
 * Resolves with the first event of that name matching `pred`; rejects after `ms`. For 'error',
 * the errors `pred` accepts count as expected from this engine (see the top of this file).
 */
export function waitFor<K extends keyof ClientEvents>(engine: ChatEngine, name: K, pred: (e: ClientEvents[K]) => boolean = () => true, ms = 10_000): Promise<ClientEvents[K]> {
  if (name === 'error' && watches.has(engine)) allowErrors(engine, pred as (e: EngineError) => boolean);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      engine.off(name, on as never);
      reject(new Error(`no ${name} event within ${ms} ms`));
    }, ms);
    const on = (e: ClientEvents[K]) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      engine.off(name, on as never);
      resolve(e);
    };
    engine.on(name, on as never);
  });
}

/** Collects every event of that name from now on. For 'error', every error of this engine counts as expected. */
export function collect<K extends keyof ClientEvents>(engine: ChatEngine, name: K): ClientEvents[K][] {
  if (name === 'error' && watches.has(engine)) allowErrors(engine, () => true);
  const seen: ClientEvents[K][] = [];
  engine.on(name, ((e: ClientEvents[K]) => seen.push(e)) as never);
  return seen;
}

/**
 * Registers `users` (each logged in), the first creates room `name` and the others join it;
 * resolves once the creator has seen every join. Returns the engines by user and the room id.
 */
export async function roomOf(t: After, tracker: { host: string; port: number }, users: string[], name: string): Promise<{ engines: Record<string, TestEngine>; id: string }> {
  const engines: Record<string, TestEngine> = {};
  for (const user of users) engines[user] = await registered(t, tracker, user);
  const [owner, ...rest] = users;
  const { id } = await engines[owner].createRoom(name);
  const joined = Promise.all(rest.map((user) => waitFor(engines[owner], 'member_joined', (e) => e.roomId === id && e.user === user)));
  for (const user of rest) await engines[user].joinRoom(id);
  await joined;
  return { engines, id };
}

/**
 * Resolves once `engine` has shown `count` messages matching `pred` (collected from now on), in
 * the order shown; rejects on a message shown twice, or after `ms`.
 */
export function messagesShown(engine: ChatEngine, count: number, pred: (m: ClientEvents['message']) => boolean, ms = 30_000): Promise<ClientEvents['message'][]> {
  const seen: ClientEvents['message'][] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${engine.user}: ${seen.length} of ${count} messages within ${ms} ms (last: ${seen.slice(-3).map((m) => m.text.slice(0, 40)).join(' / ')})`)), ms);
    engine.on('message', (m) => {
      if (!pred(m)) return;
      if (seen.some((s) => s.id === m.id)) reject(new Error(`${engine.user} showed message ${m.id} twice`));
      seen.push(m);
      if (seen.length === count) {
        clearTimeout(timer);
        resolve(seen);
      }
    });
  });
}

/** Sends `text` directly from `from` to `to`'s user and resolves once `to` emitted it as a message (rejects after `ms`). */
export async function deliveredDirect(from: ChatEngine, to: ChatEngine, text: string, ms = 10_000): Promise<void> {
  const got = waitFor(to, 'message', (m) => m.text === text, ms);
  await from.sendDirect(to.user!, text);
  await got;
}

/** Until `engine` lists `user` among the room's members (presence and links settle after roomOf). */
export async function seesMember(engine: ChatEngine, id: string, user: string): Promise<void> {
  for (let i = 0; i < 100 && !engine.members(id).some((r) => r.user === user); i++) await new Promise((r) => setTimeout(r, 100));
}

/** Closes `engine` and resolves once `watcher` saw it go offline. */
export async function away(engine: ChatEngine, watcher: ChatEngine): Promise<void> {
  const user = engine.user;
  const gone = waitFor(watcher, 'presence', (p) => p.user === user && !p.online);
  await engine.close();
  await gone;
}
