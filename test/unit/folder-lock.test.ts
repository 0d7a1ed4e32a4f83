// peer/folder-lock.ts: the lock of a data folder is a listening local socket. Held, asked who
// holds it, released, taken over from a SIGKILLed holder (a real child process), raced for by
// real processes (exactly one wins), waited for (the takeover follows the holder's death at once),
// and never fooled by what a hostile listener or client writes on the socket.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, linkSync, lstatSync, mkdirSync, realpathSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { isCoded } from '../../protocol/errors.ts';
import {
  acquire, acquireOrAttach, acquireWhenFree, attach, describeHolder, lockAddress, MAX_LINE_BYTES, MAX_SOCKET_PATH_BYTES, whoHolds, type FolderLock,
} from '../../peer/folder-lock.ts';

const MODULE = join(import.meta.dirname, '..', '..', 'peer', 'folder-lock.ts');
/** A child that takes the lock of argv[1] when it reads "go", prints the outcome as JSON, and holds it until killed. */
const CHILD = `
import { acquire } from ${JSON.stringify(MODULE)};
const dir = process.argv[1];
process.stdout.write('ready\\n');
process.stdin.once('data', async () => {
  try {
    const r = await acquire(dir, { program: 'racer' });
    process.stdout.write(JSON.stringify(r.lock ? { held: true } : { heldBy: r.heldBy }) + '\\n');
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: err.code ?? String(err) }) + '\\n');
  }
});
`;

async function tempDir(t: { after: (fn: () => unknown) => void }, prefix = 'lock-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Lines a child prints, in order, as promises. */
function lines(child: ChildProcess): () => Promise<string> {
  const queue: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  let partial = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const p of parts) {
      const w = waiters.shift();
      if (w) w(p);
      else queue.push(p);
    }
  });
  return () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiters.push(resolve)));
}

/** A child process on the lock of `dir`, started and waiting for "go". */
async function lockChild(t: { after: (fn: () => unknown) => void }, dir: string): Promise<{ child: ChildProcess; next: () => Promise<string> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD, dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const next = lines(child);
  assert.equal(await next(), 'ready');
  return { child, next };
}

async function killed(child: ChildProcess): Promise<void> {
  const exit = once(child, 'exit');
  child.kill('SIGKILL');
  await exit;
}

/** Leaves at `lock`'s address a socket file nobody listens on, as a killed holder does. */
function leaveStale(lock: FolderLock): void {
  const keep = `${lock.address}.keep`;
  linkSync(lock.address, keep);
  lock.release();
  assert.equal(existsSync(lock.address), false, 'release removes the socket file');
  renameSync(keep, lock.address);
  assert.ok(lstatSync(lock.address).isSocket());
}

async function held(dir: string, program = 'test'): Promise<FolderLock> {
  const r = await acquire(dir, { program });
  assert.ok(r.lock, `expected to hold ${dir}, held by ${JSON.stringify(r.heldBy)}`);
  return r.lock;
}

async function rejectsCoded(p: Promise<unknown>, code: string, what: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isCoded(err), `${what}: ${String(err)}`);
    assert.equal(err.code, code, what);
    return true;
  });
}

test('a free folder is taken; a second acquire is told who holds it; release frees it', async (t) => {
  const dir = await tempDir(t);
  const data = join(dir, 'data');
  const before = Date.now();
  const lock = await held(data, 'node peer');
  t.after(() => lock.release());
  assert.equal(lock.dir, realpathSync(data));
  assert.equal(lock.address, join(realpathSync(data), 'engine.sock'));
  assert.equal(lstatSync(data).mode & 0o777, 0o700, 'the folder is made private');

  const second = await acquire(data, { program: 'other' });
  assert.equal(second.lock, undefined);
  assert.equal(second.heldBy!.pid, process.pid);
  assert.equal(second.heldBy!.program, 'node peer');
  assert.equal(second.heldBy!.attach, false);
  assert.ok(second.heldBy!.since >= before && second.heldBy!.since <= Date.now());
  assert.deepEqual(await whoHolds(data), second.heldBy);
  assert.match(describeHolder(second.heldBy!), new RegExp(`^node peer \\(pid ${process.pid}, since \\d\\d:\\d\\d\\)$`));

  lock.release();
  assert.equal(existsSync(lock.address), false);
  assert.equal(await whoHolds(data), undefined);
  const again = await held(data);
  again.release();
});

test('a socket left by a SIGKILLed holder (a real process) is taken over by the next acquire', async (t) => {
  const dir = await tempDir(t);
  const { child, next } = await lockChild(t, dir);
  child.stdin!.write('go\n');
  assert.deepEqual(JSON.parse(await next()), { held: true });
  assert.equal((await whoHolds(dir))?.pid, child.pid);
  await killed(child);
  assert.ok(lstatSync(join(dir, 'engine.sock')).isSocket(), 'the killed holder left its socket file');
  assert.equal(await whoHolds(dir), undefined, 'a socket nobody listens on holds nothing');
  const lock = await held(dir);
  assert.equal((await whoHolds(dir))?.pid, process.pid);
  lock.release();
});

for (const start of ['free', 'stale'] as const) test(`processes racing for a ${start} folder: exactly one wins, the others name it`, async (t) => {
  const dir = await tempDir(t);
  if (start === 'stale') leaveStale(await held(dir));
  const racers = await Promise.all([0, 1, 2, 3].map(() => lockChild(t, dir)));
  for (const r of racers) r.child.stdin!.write('go\n');
  const outcomes = await Promise.all(racers.map(async (r) => JSON.parse(await r.next()) as { held?: true; heldBy?: { pid: number }; error?: string }));
  const winners = racers.filter((_, i) => outcomes[i].held);
  assert.equal(winners.length, 1, JSON.stringify(outcomes));
  for (const o of outcomes.filter((o) => !o.held)) assert.equal(o.heldBy?.pid, winners[0].child.pid, JSON.stringify(outcomes));
  assert.equal((await whoHolds(dir))?.pid, winners[0].child.pid);
});

test('a takeover mutex left by a dead process does not block the folder', async (t) => {
  const dir = await tempDir(t);
  const lock = await held(dir);
  leaveStale(lock);
  const dead = spawn(process.execPath, ['-e', '']);
  await once(dead, 'exit');
  writeFileSync(`${lock.address}.takeover`, String(dead.pid));
  const again = await held(dir);
  assert.equal(existsSync(`${lock.address}.takeover`), false);
  again.release();
});

test('something other than a socket at the lock path is left alone and reported', async (t) => {
  const dir = await tempDir(t);
  writeFileSync(join(dir, 'engine.sock'), 'not a socket');
  await rejectsCoded(acquire(dir, { program: 'test' }), 'internal', 'a regular file');
  assert.ok(lstatSync(join(dir, 'engine.sock')).isFile());
});

test('a path too long for sun_path: the socket goes under the temp folder, named by the real path', async (t) => {
  const dir = await tempDir(t);
  const long = join(dir, 'a'.repeat(60), 'b'.repeat(60));
  const lock = await held(long);
  t.after(() => lock.release());
  const parent = join(tmpdir(), `p2p-chat-${process.getuid!()}`);
  assert.ok(lock.address.startsWith(parent + '/'), lock.address);
  assert.ok(Buffer.byteLength(lock.address) <= MAX_SOCKET_PATH_BYTES);
  assert.equal(lstatSync(parent).mode & 0o777, 0o700);
  assert.equal(existsSync(join(long, 'engine.sock')), false);
  // Another spelling of the same folder (a short symlink) finds the same lock.
  const link = join(dir, 'short');
  symlinkSync(long, link);
  assert.equal(lockAddress(realpathSync(link)), lock.address);
  assert.equal((await acquire(link, { program: 'other' })).heldBy?.pid, process.pid);
  // And a stale one there is taken over like any other.
  leaveStale(lock);
  const again = await held(link);
  again.release();
});

test('acquireWhenFree takes over as soon as the holder releases or dies', async (t) => {
  const dir = await tempDir(t);
  const first = await held(dir, 'window one');
  const seen: string[] = [];
  let heldSeen!: () => void;
  const told = new Promise<void>((resolve) => (heldSeen = resolve));
  const waiting = acquireWhenFree(dir, { program: 'window two' }, { onHeld: (h) => (seen.push(h.program), heldSeen()) });
  await told;
  const releasedAt = Date.now();
  first.release();
  const second = await waiting;
  assert.ok(Date.now() - releasedAt < 1000, `took over after ${Date.now() - releasedAt} ms`);
  assert.deepEqual(seen, ['window one']);
  assert.equal((await whoHolds(dir))?.program, 'window two');
  second.release();

  // A holder killed with SIGKILL: its socket file stays, the watch connection closes.
  const { child, next } = await lockChild(t, dir);
  child.stdin!.write('go\n');
  assert.deepEqual(JSON.parse(await next()), { held: true });
  const heldBy: number[] = [];
  let childSeen!: () => void;
  const toldChild = new Promise<void>((resolve) => (childSeen = resolve));
  const third = acquireWhenFree(dir, { program: 'window three' }, { onHeld: (h) => (heldBy.push(h.pid), childSeen()) });
  await toldChild;
  const killedAt = Date.now();
  await killed(child);
  const lock = await third;
  assert.ok(Date.now() - killedAt < 1000, `took over after ${Date.now() - killedAt} ms`);
  assert.deepEqual(heldBy, [child.pid]);
  lock.release();
});

test('acquireWhenFree stops when aborted', async (t) => {
  const dir = await tempDir(t);
  const first = await held(dir);
  t.after(() => first.release());
  const controller = new AbortController();
  const waiting = acquireWhenFree(dir, { program: 'waiter' }, { signal: controller.signal, onHeld: () => controller.abort(new Error('stop')) });
  await assert.rejects(waiting, /stop/);
  assert.equal((await whoHolds(dir))?.pid, process.pid);
});

test('attach: the holder gets the socket after the exchange; without a listener attaching is refused', async (t) => {
  const dir = await tempDir(t);
  const lock = await held(dir, 'window one');
  t.after(() => lock.release());
  await rejectsCoded(attach(dir), 'server.data_in_use', 'no connection listener');

  const accepted = once(lock, 'connection') as Promise<[Socket]>;
  // The holder greets at once: its bytes may arrive with the answer and must not be lost.
  lock.on('connection', (s) => s.write('hello from the engine\n'));
  assert.equal((await acquire(dir, { program: 'x' })).heldBy?.attach, true);
  const attached = await attach(dir);
  assert.ok(attached);
  assert.equal(attached.holder.program, 'window one');
  const [engineSide] = await accepted;
  attached.socket.resume();
  const [greeting] = (await once(attached.socket, 'data')) as [Buffer];
  assert.equal(greeting.toString(), 'hello from the engine\n');
  engineSide.resume();
  attached.socket.write('hello from the window\n');
  const [reply] = (await once(engineSide, 'data')) as [Buffer];
  assert.equal(reply.toString(), 'hello from the window\n');
  attached.socket.destroy();
  engineSide.destroy();
  assert.equal(await attach(join(dir, 'nobody-here')), undefined, 'a free folder: nothing to attach to');
});

test('acquireOrAttach: the first window holds, the next attaches, and takes over when the first releases', async (t) => {
  const dir = await tempDir(t);
  const one = await acquireOrAttach(dir, { program: 'VS Code' });
  assert.ok(one.lock);
  const engineSides: Socket[] = [];
  one.lock.on('connection', (s) => engineSides.push(s));
  const two = await acquireOrAttach(dir, { program: 'VS Code' });
  assert.ok(two.attached);
  assert.equal(two.attached.holder.pid, process.pid);
  assert.equal(engineSides.length, 1);
  const closed = once(two.attached.socket, 'close');
  two.attached.socket.resume();
  const releasedAt = Date.now();
  one.lock.release();
  await closed;
  const again = await acquireOrAttach(dir, { program: 'VS Code' });
  assert.ok(again.lock, 'the attached window takes over');
  assert.ok(Date.now() - releasedAt < 1000);
  again.lock.release();

  // A terminal client's folder (no connection listener): attaching is refused, naming it.
  const terminal = await held(dir, 'node peer');
  t.after(() => terminal.release());
  await assert.rejects(acquireOrAttach(dir, { program: 'VS Code' }), (err: unknown) => {
    assert.ok(isCoded(err, 'server.data_in_use'));
    assert.match(err.message, new RegExp(`in use by node peer \\(pid ${process.pid}, since`));
    return true;
  });
});

// ---- hostile listeners: something answers on the socket, and it is not a holder --------------

/** Listens on `dir`'s lock address as `onConnection` says (a fake holder). */
async function fakeHolder(t: { after: (fn: () => unknown) => void }, dir: string, onConnection: (s: Socket) => void): Promise<{ server: Server; connections: () => number }> {
  mkdirSync(dir, { recursive: true });
  let count = 0;
  const server = createServer((s) => {
    count++;
    s.on('error', () => {});
    s.resume(); // read what the client says, so its close is seen
    onConnection(s);
  });
  await new Promise<void>((resolve) => server.listen(lockAddress(realpathSync(dir)), resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return { server, connections: () => count };
}

test('a listener that stays silent is timed out, and the folder is not taken from it', async (t) => {
  const dir = await tempDir(t);
  const fake = await fakeHolder(t, dir, () => {});
  const started = Date.now();
  await rejectsCoded(acquire(dir, { program: 'test' }, { timeoutMs: 300 }), 'server.data_in_use', 'silent');
  assert.ok(Date.now() - started < 2000);
  assert.ok(fake.connections() >= 1);
  assert.ok(fake.server.listening);
  assert.ok(lstatSync(join(dir, 'engine.sock')).isSocket());
});

test('an endless line is cut at the limit, long before the timeout', async (t) => {
  const dir = await tempDir(t);
  await fakeHolder(t, dir, (s) => s.write('x'.repeat(MAX_LINE_BYTES * 4)));
  const started = Date.now();
  await rejectsCoded(acquire(dir, { program: 'test' }, { timeoutMs: 10_000 }), 'server.data_in_use', 'oversized');
  assert.ok(Date.now() - started < 5000, 'not by the timeout');
});

test('answers that are not a holder are refused, field by field', async (t) => {
  const good = { v: 1, pid: 4242, program: 'node peer', since: 1_764_522_120_000, attach: false };
  const bad: [string, string][] = [
    ['not JSON', 'hello\n'],
    ['an array', '[1, 4242, "node peer"]\n'],
    ['a string', '"node peer"\n'],
    ['null', 'null\n'],
    ['no version', JSON.stringify({ ...good, v: undefined }) + '\n'],
    ['pid a string', JSON.stringify({ ...good, pid: '4242' }) + '\n'],
    ['pid negative', JSON.stringify({ ...good, pid: -1 }) + '\n'],
    ['pid fractional', JSON.stringify({ ...good, pid: 1.5 }) + '\n'],
    ['pid huge', JSON.stringify({ ...good, pid: 2 ** 40 }) + '\n'],
    ['program with a terminal escape', JSON.stringify({ ...good, program: 'node \u001b[31mpeer' }) + '\n'],
    ['program with a bidi override', JSON.stringify({ ...good, program: 'node \u202epeer' }) + '\n'],
    ['program empty', JSON.stringify({ ...good, program: '' }) + '\n'],
    ['program too long', JSON.stringify({ ...good, program: 'p'.repeat(65) }) + '\n'],
    ['since a string', JSON.stringify({ ...good, since: 'yesterday' }) + '\n'],
    ['since negative', JSON.stringify({ ...good, since: -5 }) + '\n'],
    ['attach missing', JSON.stringify({ ...good, attach: undefined }) + '\n'],
    ['fields only on the prototype', '{"__proto__": {"v": 1, "pid": 4242, "program": "node peer", "since": 0, "attach": false}}\n'],
    ['closed without a newline', JSON.stringify(good)],
  ];
  for (const [what, text] of bad) {
    const dir = await tempDir(t);
    const fake = await fakeHolder(t, dir, (s) => s.end(text));
    await rejectsCoded(acquire(dir, { program: 'test' }, { timeoutMs: 5000 }), 'server.data_in_use', what);
    assert.ok(fake.server.listening, what);
    await new Promise((resolve) => fake.server.close(resolve));
  }
  // The same answer, well formed (with a `__proto__` key of its own and trailing bytes), is believed.
  const dir = await tempDir(t);
  await fakeHolder(t, dir, (s) => s.end(`{"__proto__": {"polluted": true}, ${JSON.stringify(good).slice(1)}\nmore bytes`));
  const r = await acquire(dir, { program: 'test' });
  assert.deepEqual(r.heldBy, { pid: good.pid, program: good.program, since: good.since, attach: good.attach });
  assert.equal(({} as { polluted?: boolean }).polluted, undefined);
});

// ---- hostile clients: what connects to a held lock ----------------------------------------------

function rawConnect(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ path }, () => resolve(s));
    s.once('error', reject);
  });
}

test('the holder drops clients that send garbage, too much, or nothing, and keeps answering', async (t) => {
  const dir = await tempDir(t);
  const r = await acquire(dir, { program: 'node peer' }, { timeoutMs: 300 });
  const lock = r.lock!;
  t.after(() => lock.release());
  lock.on('connection', () => assert.fail('no hostile client may attach'));
  const sends = ['not json\n', '{"v":1,"want":"everything"}\n', '{"v":2,"want":"attach"}\n', '{"__proto__":{"v":1,"want":"attach"}}\n', 'y'.repeat(MAX_LINE_BYTES * 3), ''];
  for (const text of sends) {
    const s = await rawConnect(lock.address);
    s.on('error', () => {});
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    const closed = once(s, 'close');
    if (text) s.write(text);
    await closed;
    assert.equal(Buffer.concat(chunks).length, 0, `answered ${JSON.stringify(text.slice(0, 40))}`);
  }
  // More silent connections than it keeps waiting: the extra ones are closed at once.
  const silent = await Promise.all(Array.from({ length: 20 }, () => rawConnect(lock.address)));
  const closedAll = silent.map((s) => {
    s.on('error', () => {});
    return once(s, 'close');
  });
  await Promise.all(closedAll);
  assert.equal((await whoHolds(dir))?.pid, process.pid, 'still answering');
  assert.ok(!lock.released);
});
