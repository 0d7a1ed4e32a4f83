// The terminal client as its users run it (STYLE.md "Tests": real things): a spawned `node
// tracker`, spawned `node peer --json` processes talking through it and to each other, and the
// interactive mode fed through a pipe. No sleeps: every step awaits an answer, an event or an exit.

import { teardownStack } from '../helpers/teardown.ts';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FAST_TRACKER_ARGS, startTracker, type Teardown, type TrackerProcess } from '../helpers/tracker-process.ts';
import { registered, waitFor } from '../helpers/engines.ts';
import { checkPeerBundle, PEER_ENTRY, runPeer } from '../helpers/peer-process.ts';
import { columnWidth } from '../../protocol/text.ts';

/** Passes peer/account.ts checkPasswordPolicy ("correct horse battery staple 42" does not: common words). */
const PASSWORD = 'plum kettle orbit 93 lantern';
/** Registration and login run the real scrypt (N=2^17) and RSA key generation in the child. */
const ANSWER_TIMEOUT_MS = 20_000;
const EVENT_TIMEOUT_MS = 10_000;
const EXIT_TIMEOUT_MS = 10_000;

type Line = Record<string, unknown>;
interface Answer extends Line {
  id: number | null;
  ok: boolean;
  error?: { code: string; message: string };
}
interface Event extends Line {
  event: string;
}

/** A `node peer --json` child: send commands, await answers by id, await events by name. */
class JsonPeer {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Lines on stdout that were not JSON objects: the protocol allows none. */
  readonly strayLines: string[] = [];
  private stdout = '';
  private stderr = '';
  private nextId = 1;
  private readonly pending = new Map<number | null, ((a: Answer) => void)[]>();
  private readonly unclaimed: Answer[] = [];
  private readonly events: Event[] = [];
  private readonly eventWaiters = new Set<(e: Event) => boolean>();

  constructor(t: Teardown, args: string[]) {
    this.child = spawn(process.execPath, [PEER_ENTRY, '--json', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.child.stdout!.on('data', (chunk: Buffer) => {
      const parts = (this.stdout + chunk.toString('utf8')).split('\n');
      this.stdout = parts.pop()!;
      for (const line of parts) this.onLine(line);
    });
    t.after(() => this.stop());
  }

  /** Sends a command with the next id and resolves with its answer. */
  send(cmd: Line, timeoutMs = ANSWER_TIMEOUT_MS): Promise<Answer> {
    const id = this.nextId++;
    const answer = this.answerFor(id, timeoutMs, JSON.stringify(cmd));
    this.write(JSON.stringify({ id, ...cmd }));
    return answer;
  }

  /** Sends a command and asserts it succeeded. */
  async ok(cmd: Line): Promise<Answer> {
    const answer = await this.send(cmd);
    assert.equal(answer.ok, true, `${JSON.stringify(cmd)} failed: ${JSON.stringify(answer.error)}`);
    return answer;
  }

  write(line: string): void {
    this.child.stdin!.write(line + '\n');
  }

  /** The answer with this id (null: answers to lines without a usable id, in order). */
  answerFor(id: number | null, timeoutMs = ANSWER_TIMEOUT_MS, what = `id ${id}`): Promise<Answer> {
    const i = this.unclaimed.findIndex((a) => a.id === id);
    if (i >= 0) return Promise.resolve(this.unclaimed.splice(i, 1)[0]);
    return this.within(timeoutMs, `an answer to ${what}`, (resolve) => {
      const list = this.pending.get(id) ?? [];
      list.push(resolve);
      this.pending.set(id, list);
      return () => {
        const left = (this.pending.get(id) ?? []).filter((r) => r !== resolve);
        this.pending.set(id, left);
      };
    });
  }

  /** The first event `name` matching `predicate`, from those already seen or still to come; it is used up. */
  event(name: string, predicate: (e: Event) => boolean = () => true, timeoutMs = EVENT_TIMEOUT_MS): Promise<Event> {
    const match = (e: Event) => e.event === name && predicate(e);
    const i = this.events.findIndex(match);
    if (i >= 0) return Promise.resolve(this.events.splice(i, 1)[0]);
    return this.within(timeoutMs, `a ${name} event matching ${predicate.toString()}`, (resolve) => {
      const waiter = (e: Event) => {
        if (!match(e)) return false;
        resolve(e);
        return true;
      };
      this.eventWaiters.add(waiter);
      return () => this.eventWaiters.delete(waiter);
    });
  }

  async exitCode(timeoutMs = EXIT_TIMEOUT_MS): Promise<number | null> {
    return this.within(timeoutMs, 'the process to exit', (resolve) => {
      void this.exited.then(resolve);
      return () => {};
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }

  describe(): string {
    const seen = this.events.map((e) => JSON.stringify(e).slice(0, 200));
    return `\n--- unclaimed events ---\n${seen.join('\n')}\n--- peer stderr ---\n${this.stderr}`;
  }

  private onLine(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      this.strayLines.push(line);
      return;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.strayLines.push(line);
      return;
    }
    const obj = value as Line;
    if ('event' in obj) {
      const e = obj as Event;
      for (const waiter of this.eventWaiters) if (waiter(e)) return;
      this.events.push(e);
      return;
    }
    const answer = obj as Answer;
    const waiter = this.pending.get(answer.id)?.shift();
    if (waiter) waiter(answer);
    else this.unclaimed.push(answer);
  }

  private within<T>(timeoutMs: number, what: string, start: (resolve: (v: T) => void) => () => void): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cancel?.();
        reject(new Error(`no ${what} within ${timeoutMs} ms${this.describe()}`));
      }, timeoutMs);
      let cancel: (() => void) | undefined;
      cancel = start((v) => {
        clearTimeout(timer);
        cancel?.();
        resolve(v);
      });
    });
  }
}

/** An interactive `node peer` (stdin a pipe, not a TTY): type lines, await what it prints. */
class InteractivePeer {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** Everything printed on stdout, as the raw bytes a terminal would get. */
  private bytes = Buffer.alloc(0);
  private stderr = '';
  private readonly waiters = new Set<() => void>();

  constructor(t: Teardown, args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [PEER_ENTRY, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.bytes = Buffer.concat([this.bytes, chunk]);
      for (const w of this.waiters) w();
    });
    t.after(async () => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return;
      this.child.kill('SIGKILL');
      await this.exited;
    });
  }

  get output(): Buffer {
    return this.bytes;
  }

  type(line: string): void {
    this.child.stdin!.write(line + '\n');
  }

  /** Resolves once stdout contains `text`. */
  printed(text: string, timeoutMs = ANSWER_TIMEOUT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!this.bytes.toString('utf8').includes(text)) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`node peer did not print ${JSON.stringify(text)} within ${timeoutMs} ms\n--- stdout ---\n${this.bytes.toString('utf8')}\n--- stderr ---\n${this.stderr}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }
}

/**
 * What a terminal `columns` wide shows of `text`: each line cut into screen rows where the next
 * grapheme would pass the last column (a wide one moves to the next row whole).
 */
function screenRows(text: string, columns: number): string[] {
  const rows: string[] = [];
  const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  for (const line of text.split('\n')) {
    let row = '';
    let col = 0;
    for (const { segment } of segmenter.segment(line)) {
      const w = columnWidth(segment);
      if (col + w > columns) {
        rows.push(row);
        row = '';
        col = 0;
      }
      row += segment;
      col += w;
    }
    rows.push(row);
  }
  return rows;
}

async function tempDir(t: Teardown, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('node peer', () => {
  let tracker: TrackerProcess;
  let trackerArg: string;

  // One tracker for the suite. Its teardown is collected here and run by the suite's own after
  // hook: node:test's after() called inside before() would attach to whatever test runs first.
  const suiteTeardown = teardownStack((err) => {
    throw err;
  });
  after(() => suiteTeardown.runAll());

  before(async () => {
    checkPeerBundle();
    tracker = await startTracker(suiteTeardown, { args: [...FAST_TRACKER_ARGS] });
    trackerArg = `${tracker.host}:${tracker.port}`;
  });

  test('--help exits 0 and lists the commands', async () => {
    const { code, stdout } = await runPeer(['--help'], '', EXIT_TIMEOUT_MS);
    assert.equal(code, 0);
    assert.match(stdout, /Usage: node peer \[PORT\]/);
    for (const cmd of ['register', 'login', 'list_peers', 'list_rooms', 'list_conn', 'create_room', 'join_room', 'leave_room', 'close_room', 'msg_room', 'msg', 'kick', 'members', 'fingerprint', 'verify', 'logout', 'exit', '--json']) {
      assert.match(stdout, new RegExp(`\\s${cmd}\\b`), `--help does not mention ${cmd}`);
    }
  });

  test('--json answers bad lines with codes, never crashes, and exits 0 at EOF', async (t) => {
    const data = await tempDir(t, 'p2p-chat-cli-');
    const peer = new JsonPeer(t, ['--tracker', trackerArg, '--data', data]);
    const idle = await peer.event('connection', (e) => e.state === 'offline');
    assert.match(String(idle.detail), /register or log in/);

    peer.write('this is not json');
    const notJson = await peer.answerFor(null);
    assert.equal(notJson.ok, false);
    assert.equal(notJson.error?.code, 'request.invalid');
    assert.match(notJson.error!.message, /not JSON/);

    peer.write('[1, 2]');
    assert.equal((await peer.answerFor(null)).error?.code, 'request.invalid');
    peer.write('{"id": "seven", "cmd": "help"}');
    assert.equal((await peer.answerFor(null)).error?.code, 'request.invalid');

    const unknown = await peer.send({ cmd: 'fly' });
    assert.equal(unknown.ok, false);
    assert.equal(unknown.error?.code, 'request.unknown_type');
    const missing = await peer.send({ cmd: 'msg_room', room: 'general' });
    assert.equal(missing.error?.code, 'request.invalid');
    assert.match(missing.error!.message, /text/);
    const early = await peer.send({ cmd: 'list_peers' });
    assert.equal(early.error?.code, 'auth.required');
    const weak = await peer.send({ cmd: 'register', user: 'carol', password: 'short' });
    assert.equal(weak.error?.code, 'auth.weak_password');

    // A pipelined burst is answered in order, one answer per command.
    const burst = await Promise.all([peer.send({ cmd: 'help' }), peer.send({ cmd: 'list_conn' }), peer.send({ cmd: 'nope' })]);
    assert.deepEqual(burst.map((a) => a.ok), [true, true, false]);
    assert.ok(Array.isArray(burst[0].commands) && (burst[0].commands as { cmd: string }[]).some((c) => c.cmd === 'msg_room'));

    peer.child.stdin!.end();
    assert.equal(await peer.exitCode(), 0);
    assert.deepEqual(peer.strayLines, [], 'stdout carries JSON lines only');
  });

  test('two clients chat in a room and directly, and a restarted client resumes without login', async (t) => {
    const [dataA, dataB] = await Promise.all([tempDir(t, 'p2p-chat-cli-a-'), tempDir(t, 'p2p-chat-cli-b-')]);
    const args = (data: string) => ['--tracker', trackerArg, '--data', data];
    const alice = new JsonPeer(t, args(dataA));
    const bob = new JsonPeer(t, args(dataB));

    await Promise.all([alice.ok({ cmd: 'register', user: 'alice', password: PASSWORD }), bob.ok({ cmd: 'register', user: 'bob', password: PASSWORD })]);
    // First use of the tracker: accepted (accept-new) and reported with its fingerprint.
    const pinned = await alice.event('connection', (e) => /first connection/.test(String(e.detail)));
    assert.ok(String(pinned.detail).includes(tracker.fingerprint), `the connection event names the fingerprint: ${pinned.detail}`);

    const [loginA] = await Promise.all([alice.ok({ cmd: 'login', user: 'alice', password: PASSWORD }), bob.ok({ cmd: 'login', user: 'bob', password: PASSWORD })]);
    assert.equal(loginA.user, 'alice');
    const readyA = await alice.event('ready');
    assert.ok(Number(readyA.port) > 0, 'ready names the listening port');
    await bob.event('ready');

    const created = await alice.ok({ cmd: 'create_room', room: 'general' });
    assert.equal(created.room, 'general');
    const joined = await bob.ok({ cmd: 'join_room', room: 'general' });
    assert.deepEqual([...(joined.members as string[])].sort(), ['alice', 'bob']);
    await alice.event('member_joined', (e) => e.room === 'general' && e.user === 'bob');

    const sent = await alice.ok({ cmd: 'msg_room', room: 'general', text: 'hello bob' });
    const got = await bob.event('message', (e) => e.id === sent.messageId);
    assert.equal(got.room, 'general');
    assert.equal(got.roomId, created.roomId);
    assert.equal(got.from, 'alice');
    assert.equal(got.text, 'hello bob');
    assert.equal(got.direct, false);
    assert.equal(got.sentAt, sent.sentAt);
    const delivered = await alice.event('delivered', (e) => e.id === sent.messageId);
    assert.deepEqual({ room: delivered.room, count: delivered.count, of: delivered.of }, { room: 'general', count: 1, of: 1 });

    const dm = await alice.ok({ cmd: 'msg', user: 'bob', text: 'just between us' });
    assert.equal(dm.room, 'dm:alice:bob');
    const gotDm = await bob.event('message', (e) => e.id === dm.messageId);
    assert.deepEqual({ room: gotDm.room, from: gotDm.from, text: gotDm.text, direct: gotDm.direct }, { room: 'dm:alice:bob', from: 'alice', text: 'just between us', direct: true });

    const reply = await bob.ok({ cmd: 'msg_room', room: 'general', text: 'hi alice' });
    const gotReply = await alice.event('message', (e) => e.id === reply.messageId);
    assert.equal(gotReply.from, 'bob');

    assert.equal((await alice.send({ cmd: 'exit' })).ok, true);
    assert.equal(await alice.exitCode(), 0);

    // Same data folder: the saved session resumes, no login, and it can send at once.
    const again = new JsonPeer(t, args(dataA));
    const resumed = await again.event('ready');
    assert.ok(Number(resumed.port) > 0);
    const members = await again.ok({ cmd: 'members', room: 'general' });
    assert.deepEqual((members.members as { user: string }[]).map((m) => m.user).sort(), ['alice', 'bob']);
    const back = await again.ok({ cmd: 'msg_room', room: 'general', text: 'back again' });
    const gotBack = await bob.event('message', (e) => e.id === back.messageId);
    assert.equal(gotBack.text, 'back again');
    assert.equal(gotBack.from, 'alice');

    await Promise.all([again.ok({ cmd: 'exit' }), bob.ok({ cmd: 'exit' })]);
    assert.deepEqual(await Promise.all([again.exitCode(), bob.exitCode()]), [0, 0]);
    for (const p of [alice, again, bob]) assert.deepEqual(p.strayLines, [], 'stdout carries JSON lines only');
  });

  test('a changed tracker fingerprint is refused with both fingerprints and how to reset', async (t) => {
    const data = await tempDir(t, 'p2p-chat-cli-pin-');
    const wrong = 'AB'.repeat(32);
    writeFileSync(join(data, 'known-trackers.json'), JSON.stringify({ [trackerArg]: wrong }));
    const peer = new JsonPeer(t, ['--tracker', trackerArg, '--data', data]);
    const refused = await peer.send({ cmd: 'login', user: 'alice', password: PASSWORD });
    assert.equal(refused.error?.code, 'tracker.fingerprint_mismatch');
    const message = refused.error!.message.replace(/\s/g, '');
    assert.ok(message.includes(wrong), 'the message shows the pinned fingerprint');
    assert.ok(message.includes(tracker.fingerprint.replace(/\s/g, '')), 'the message shows the presented fingerprint');
    assert.match(refused.error!.message, /known-trackers\.json/);
    assert.equal(JSON.parse(readFileSync(join(data, 'known-trackers.json'), 'utf8'))[trackerArg], wrong, 'the pin is left alone');
  });

  test('SIGTERM closes the client cleanly with exit code 0', async (t) => {
    const data = await tempDir(t, 'p2p-chat-cli-term-');
    const peer = new JsonPeer(t, ['--tracker', trackerArg, '--data', data]);
    await peer.event('connection', (e) => e.state === 'offline');
    peer.child.kill('SIGTERM');
    assert.equal(await peer.exitCode(), 0);
  });

  test('interactive mode asks before trusting a new tracker and prints one-line errors', async (t) => {
    const data = await tempDir(t, 'p2p-chat-cli-tty-');
    // Not a TTY: the password is read as a plain line. Declined first, then accepted.
    const script = ['list_peers', 'frobnicate', 'quit', 'login alice', 'not the real password', 'n', 'login alice', 'not the real password', 'y', 'help', 'exit', ''].join('\n');
    const { code, stdout, stderr } = await runPeer(['--tracker', trackerArg, '--data', data], script, EXIT_TIMEOUT_MS);
    assert.equal(code, 0, stderr);
    assert.match(stdout, /Not logged in: type register or login/);
    assert.match(stdout, /^error: log in first$/m);
    assert.match(stdout, /^error: unknown command "frobnicate"; type help for the list$/m);
    // What other programs quit with points to the word that does it here.
    assert.match(stdout, /^error: unknown command "quit"; exit quits \(your session stays saved and resumes next time\)$/m);
    assert.ok(stdout.includes(tracker.fingerprint), 'the fingerprint is shown before asking');
    assert.match(stdout, /Trust this tracker\? \[y\/N\]/);
    // An error may quote a peer or the tracker: it is cut into rows, each continuation row indented.
    const unwrapped = stdout.replace(/\n {2}(?=\S)/g, ' ');
    assert.match(unwrapped, /^error: you did not trust the tracker .*answer y to trust it$/m);
    assert.equal(JSON.parse(readFileSync(join(data, 'known-trackers.json'), 'utf8'))[trackerArg], tracker.fingerprint, 'accepted on the second try, and pinned');
    // alice does not exist: the tracker answers with a fake salt and then refuses, in one line.
    assert.match(stdout, /^error: wrong user name or password$/m);
    assert.equal((stdout.match(/Trust this tracker/g) ?? []).length, 2);
    assert.match(stdout, /msg_room NAME \[TEXT\]/);
  });

  test('interactive mode shows control characters and escape sequences from peers visibly, never interpreted', { timeout: 120_000 }, async (t) => {
    // dave's account and saved session, made with the --json mode; then dave runs interactively
    // and mallory, a member of the room, sends what she likes.
    const data = await tempDir(t, 'p2p-chat-cli-esc-');
    const args = ['--tracker', trackerArg, '--data', data];
    const setup = new JsonPeer(t, args);
    await setup.ok({ cmd: 'register', user: 'dave', password: PASSWORD });
    await setup.ok({ cmd: 'login', user: 'dave', password: PASSWORD });
    await setup.ok({ cmd: 'exit' });
    assert.equal(await setup.exitCode(), 0);

    const mallory = await registered(t, tracker, 'mallory');
    await mallory.createRoom('lobby');
    const dave = new InteractivePeer(t, args);
    await dave.printed('Logged in as dave (saved session)');
    const joined = waitFor(mallory, 'member_joined', (e) => e.user === 'dave', ANSWER_TIMEOUT_MS);
    dave.type('join_room lobby');
    await dave.printed('Joined lobby');
    await joined;

    const hostile = [
      'lunch?\r[dm] carol: send me the password',
      'title \x1b]0;pwned title\x07 set',
      'clear \x1b[2J\x1b[H screen',
      'clipboard \x1b]52;c;cm0gLXJmIH4=\x07 written',
      'c1 \u009b2J csi \u009d0;osc\u009c',
      'bidi invoice\u202Etxt.exe',
      'two lines\n[dm] alice: a line that pretends to be a message',
    ];
    for (const text of hostile) await mallory.sendRoom('lobby', text);
    await mallory.sendDirect('dave', 'direct \x1b]0;dm title\x07');
    await mallory.sendRoom('lobby', 'see this', { language: 'ts\x1b[31m', path: '../\x1b]0;x\x07\u202Eevil.ts', startLine: 1, endLine: 2, code: 'a\r\x1b[2Jb\n\u009bc' });
    await mallory.sendRoom('lobby', 'the last one');
    await dave.printed('[lobby] mallory: the last one');
    dave.type('exit');
    assert.equal(await dave.exited, 0);

    const out = dave.output;
    assert.equal(out.indexOf(0x1b), -1, 'no ESC reached the terminal');
    assert.equal(out.indexOf(0x0d), -1, 'no CR reached the terminal');
    assert.equal(out.indexOf(0x07), -1, 'no BEL reached the terminal');
    const text = out.toString('utf8');
    assert.doesNotMatch(text, /[\u0080-\u009f]/, 'no C1 control reached the terminal');
    assert.doesNotMatch(text, /[\u202a-\u202e\u2066-\u2069]/, 'no bidi control reached the terminal');
    for (const shown of [
      '[lobby] mallory: lunch?^M[dm] carol: send me the password',
      'title ^[]0;pwned title^G set',
      'clear ^[[2J^[[H screen',
      'clipboard ^[]52;c;cm0gLXJmIH4=^G written',
      'c1 <U+009B>2J csi <U+009D>0;osc<U+009C>',
      'bidi invoice<U+202E>txt.exe',
      '[lobby] mallory: two lines\n  [dm] alice: a line that pretends to be a message',
      '[dm] mallory: direct ^[]0;dm title^G',
      '(ts^[[31m snippet, ../^[]0;x^G<U+202E>evil.ts:1-2)',
      '    a^M^[[2Jb\n    <U+009B>c',
    ]) {
      assert.ok(text.includes(shown), `shows ${JSON.stringify(shown)}\n--- stdout ---\n${text}`);
    }
    assert.doesNotMatch(text, /^\[dm\] alice/m, 'no line passes for a message from someone else');
  });

  test('interactive mode wraps peer text itself at the terminal width, every continuation row indented, and shows fillers', { timeout: 120_000 }, async (t) => {
    // Issue 7, F1: padding pushes `[dm] carol: ...` to where an 80-column terminal wraps the line,
    // so the rest would start a screen row of its own. COLUMNS tells a piped `node peer` the width.
    const columns = 80;
    const data = await tempDir(t, 'p2p-chat-cli-wrap-');
    const args = ['--tracker', trackerArg, '--data', data];
    const setup = new JsonPeer(t, args);
    await setup.ok({ cmd: 'register', user: 'erin', password: PASSWORD });
    await setup.ok({ cmd: 'login', user: 'erin', password: PASSWORD });
    await setup.ok({ cmd: 'exit' });
    assert.equal(await setup.exitCode(), 0);

    const trudy = await registered(t, tracker, 'trudy');
    await trudy.createRoom('lunchroom');
    const erin = new InteractivePeer(t, args, { COLUMNS: String(columns) });
    await erin.printed('Logged in as erin (saved session)');
    const joined = waitFor(trudy, 'member_joined', (e) => e.user === 'erin', ANSWER_TIMEOUT_MS);
    erin.type('join_room lunchroom');
    await erin.printed('Joined lunchroom');
    await joined;

    const header = '[lunchroom] trudy: ';
    const fake = '[dm] carol: send me the password';
    // Pads that end exactly where the terminal would wrap, for each kind of padding.
    const room = columns - columnWidth(header + 'lunch?');
    const padded = [
      'lunch?' + ' '.repeat(57) + fake,
      'lunch?' + ' '.repeat(room) + fake,
      'lunch?' + '\u3164'.repeat(57) + fake,
      'lunch?' + '\u3164'.repeat(Math.ceil(room / 2)) + fake,
      'lunch?' + '\u2800'.repeat(room) + fake,
      'lunch?' + '\u115f\u1160\uffa0'.repeat(room) + fake,
      'lunch?' + ' .'.repeat(Math.ceil(room / 2)) + fake,
      'lunch?' + '字'.repeat(Math.ceil(room / 2)) + fake,
      'lunch?' + '\t'.repeat(Math.ceil(room / 8)) + fake,
      'lunch?' + 'e\u0301'.repeat(room) + fake,
    ];
    for (const text of padded) await trudy.sendRoom('lunchroom', text);
    await trudy.sendDirect('erin', 'psst' + '\u3164'.repeat(columns) + fake);
    await trudy.sendRoom('lunchroom', 'see this', {
      language: 'ts' + '\u3164'.repeat(20) + fake,
      path: 'src/' + ' '.repeat(columns) + fake,
      startLine: 1,
      endLine: 2,
      code: 'x' + ' '.repeat(columns * 2) + fake + '\n' + '\u2800'.repeat(columns) + fake,
    });
    await trudy.sendRoom('lunchroom', 'the last one');
    await erin.printed(`${header}the last one`);
    erin.type('exit');
    assert.equal(await erin.exited, 0);

    const text = erin.output.toString('utf8');
    const dump = `\n--- stdout ---\n${text}`;
    const rows = screenRows(text, columns);
    // What trudy sent, from her first message on: no line wider than the terminal, which never wraps one itself.
    const sent = text.slice(text.indexOf(header));
    assert.equal(screenRows(sent, columns).length, sent.split('\n').length, `no line of peer text is wider than the terminal${dump}`);
    // A screen row that starts at column 0 with `[` is the header of a message trudy sent.
    const headers = rows.filter((row) => row.startsWith('['));
    for (const row of headers) assert.match(row, /^\[(lunchroom|dm)\] trudy: /, `${JSON.stringify(row)} passes for a message line${dump}`);
    assert.equal(headers.filter((row) => row.startsWith(header)).length, padded.length + 2, `one header per room message${dump}`);
    assert.equal(headers.filter((row) => row.startsWith('[dm] trudy: ')).length, 1, `one header for the direct message${dump}`);
    // Every row with the fake line in it is a header row or indented.
    const fakes = rows.filter((row) => row.includes('[dm] carol'));
    assert.ok(fakes.length >= padded.length, dump);
    for (const row of fakes) assert.match(row, /^( {2,}|\[(lunchroom|dm)\] trudy: )/, `${JSON.stringify(row)}${dump}`);

    // The fillers and the run of spaces are shown, not drawn as blanks.
    assert.doesNotMatch(text, /[\u115f\u1160\u3164\uffa0\u2800]/u, `no filler reached the terminal${dump}`);
    const count = (s: string) => text.split(s).length - 1;
    assert.equal(count('<U+3164>'), 57 + Math.ceil(room / 2) + columns + 20, dump);
    assert.equal(count('<U+2800>'), room + columns, dump);
    for (const code of ['<U+115F>', '<U+1160>', '<U+FFA0>']) assert.equal(count(code), room, dump);
    assert.ok(text.includes(`${header}lunch?<57 spaces>${fake}`), dump);
    assert.ok(text.includes(`${header}lunch?<${room} spaces>${fake}`), dump);
    assert.ok(text.includes(`src/<${columns} spaces>${fake}:1-2)`), dump);
  });
});
