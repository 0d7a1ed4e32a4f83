// Benchmark (not a test) of issue 7 item 7: a member announces N sender sessions in a room of 5
// and uses each at index SEQ; the receiver is a real `node peer --json` process. Prints, before
// and after the attack, the time from an honest member's send to the receiver showing it
// (median of 9), the receiver's RSS, its data folder on disk, and how long it takes to exit.
//   node scripts/build.mjs && node --import tsx test/bench/hostile-sessions.ts [N=500] [SEQ=2000]
// SEQ=2000 is the attack (refused now: a session carries at most SESSION_MAX_MESSAGES);
// SEQ=99 is the most a session may carry, what the caps must hold.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Envelope } from '../../protocol/peer.ts';
import { eventHash } from '../../protocol/room-log.ts';
import type { ChatEngine } from '../../peer/engine.ts';
import { deriveNextChainKey, encryptMessage, makeBundle, newOutboundSession, type OutboundSession } from '../../peer/sender-keys.ts';
import { registered, waitFor, type TestEngine } from '../helpers/engines.ts';
import { PeerProcess, type PeerEvent } from '../helpers/peer-process.ts';
import { freePort, linkTo, savedKeys } from '../helpers/proxy.ts';
import { teardownStack } from '../helpers/teardown.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

const N = Number(process.argv[2] ?? 500);
const SEQ = Number(process.argv[3] ?? 2000);
const SAMPLES = 9;
const stack = teardownStack((err) => console.error('teardown:', err));

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function diskKiB(dir: string): number {
  let bytes = 0;
  for (const name of readdirSync(dir, { recursive: true }) as string[]) {
    const s = statSync(join(dir, name));
    if (s.isFile()) bytes += s.size;
  }
  return bytes / 1024;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The room's head as `engine` holds it (rooms as a Map, or as an object in older versions). */
function headOf(engine: TestEngine, room: string) {
  engine.data.flush();
  const rooms = engine.data.loadState(engine.user!).rooms as unknown;
  const saved = (rooms instanceof Map ? rooms.get(room) : (rooms as Record<string, { events: never[] }>)[room]) as { events: Parameters<typeof eventHash>[0][] };
  const last = saved.events.at(-1)!;
  return { seq: last.seq, hash: eventHash(last) };
}

function shows(bob: PeerProcess, text: string, ms = 600_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message "${text}" within ${ms} ms${bob.describe()}`)), ms);
    const on = (e: PeerEvent, at: number) => {
      if (e.event !== 'message' || e.text !== text) return;
      clearTimeout(timer);
      bob.off('event', on);
      resolve(at);
    };
    bob.on('event', on);
  });
}

async function main(): Promise<void> {
  const tracker = await startTracker(stack, { args: [...FAST_TRACKER_ARGS] });
  const bobPort = await freePort();
  const alice = await registered(stack, tracker, 'alice');
  const bobEngine = await registered(stack, tracker, 'bob', { peerPort: bobPort });
  const carol = await registered(stack, tracker, 'carol');
  const dave = await registered(stack, tracker, 'dave');
  const mallory = await registered(stack, tracker, 'mallory');
  const { id: room } = await alice.createRoom('lab');
  for (const e of [bobEngine, carol, dave, mallory]) {
    const seen = waitFor(alice, 'member_joined', (j) => j.user === e.user);
    await e.joinRoom('lab');
    await seen;
  }
  const keys = { mallory: savedKeys(mallory, 'mallory'), bob: savedKeys(bobEngine, 'bob') };
  const head = headOf(alice, room);
  const gone = waitFor(alice, 'presence', (p) => p.user === 'bob' && !p.online, 60_000);
  await Promise.all([bobEngine.close(), mallory.close()]);
  await gone;

  const bob = new PeerProcess({ tracker: `${tracker.host}:${tracker.port}`, data: bobEngine.dataDir, port: bobPort, label: 'bob' });
  stack.after(() => bob.stop());
  await bob.waitEvent('ready', () => true, 120_000);

  let n = 0;
  const pace = async (): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const text = `honest ${n++}`;
      const shown = shows(bob, text);
      const t0 = performance.now();
      await alice.sendRoom('lab', text);
      times.push((await shown) - t0);
    }
    return times;
  };
  const before = await pace();
  const rssBefore = rssMiB(bob.pid);
  console.log(`node ${process.version}; ${N} hostile sessions in a room of 5, each used at index ${SEQ}`);
  console.log(`before: honest message send->shown median ${median(before).toFixed(1)} ms (max ${Math.max(...before).toFixed(1)}), bob RSS ${rssBefore.toFixed(0)} MiB, data folder ${diskKiB(bobEngine.dataDir).toFixed(0)} KiB`);

  const link = await linkTo(stack, { peerPort: bobPort } as ChatEngine, keys.mallory, keys.bob);
  // When each hostile message was shown (where SEQ is accepted): the pace of the first and last 50.
  const shownAt = new Map<number, number>();
  bob.on('event', (e, at) => {
    const m = e.event === 'message' && typeof e.text === 'string' ? /^hostile (\d+)$/.exec(e.text) : null;
    if (m) shownAt.set(Number(m[1]), at);
  });
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const s = newOutboundSession(room, head, Date.now() + i);
    link.send({ t: 'session', bundle: makeBundle(s, 'mallory', keys.mallory.signingKey, [{ user: 'bob', encryptionKey: keys.bob.encryptionPublic }]) });
    const copy: OutboundSession = { ...s, chainKey: Buffer.from(s.chainKey) };
    for (; copy.next < SEQ; copy.next++) copy.chainKey = deriveNextChainKey(copy.chainKey);
    const envelope: Envelope = encryptMessage(copy, 'mallory', keys.mallory.signingKey, { time: Date.now(), text: `hostile ${i}` });
    link.send({ t: 'envelope', envelope });
  }
  // A last, valid message of mallory's on the same link: the attack has been handled when it shows.
  const end = newOutboundSession(room, head, Date.now() + N);
  link.send({ t: 'session', bundle: makeBundle(end, 'mallory', keys.mallory.signingKey, [{ user: 'bob', encryptionKey: keys.bob.encryptionPublic }]) });
  const done = shows(bob, 'mallory done');
  link.send({ t: 'envelope', envelope: encryptMessage(end, 'mallory', keys.mallory.signingKey, { time: Date.now(), text: 'mallory done' }) });
  const handled = (await done) - t0;

  const gap = (from: number, to: number) => {
    const a = shownAt.get(from);
    const b = shownAt.get(to);
    return a === undefined || b === undefined ? 'n/a' : `${((b - a) / (to - from)).toFixed(1)} ms`;
  };
  if (shownAt.size) console.log(`hostile messages shown: ${shownAt.size}; time per message, first 50: ${gap(0, 50)}, last 50: ${gap(N - 51, N - 1)}`);
  const after = await pace();
  const rssAfter = rssMiB(bob.pid);
  console.log(`attack handled in ${(handled / 1000).toFixed(1)} s`);
  console.log(`after:  honest message send->shown median ${median(after).toFixed(1)} ms (max ${Math.max(...after).toFixed(1)}), bob RSS ${rssAfter.toFixed(0)} MiB, data folder ${diskKiB(bobEngine.dataDir).toFixed(0)} KiB`);
  const s0 = performance.now();
  await bob.stop();
  console.log(`exit (SIGTERM to exit): ${((performance.now() - s0) / 1000).toFixed(2)} s; data folder after exit ${diskKiB(bobEngine.dataDir).toFixed(0)} KiB`);
}

try {
  await main();
} finally {
  await stack.runAll();
}
