// Whole peers SIGKILLed in the middle of a send and receive loop (DESIGN.md "Delivery, history,
// nothing lost"): a real tracker, alice and bob as real `node peer --json` processes in one room,
// both sending all the time. At 20 random points (seeded: the seed is printed, SIGKILL_SEED=N
// repeats a run) one of them is killed with SIGKILL and started again on its data folder, where
// it resumes its saved session. Each time:
//   - before the restart, its store on disk (opened here, nothing can refill it) holds every
//     message it acknowledged: each one its peer saw `delivered` for, and each one it sent whose
//     `msg_room` answer it printed;
//   - it starts again, and its `history` (paged with `before`) holds the same;
//   - messages its peer sent while it was down arrive after it is back (the outbox, catch-up),
//     and the messages it had sent reach its peer;
//   - once both outboxes are empty, both histories are the same list, in the same order, each
//     message once, with the texts that were sent.

import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DataFolder } from '../../peer/data-folder.ts';
import { checkPeerBundle, PeerProcess, removeDataFolder, type PeerEvent } from '../helpers/peer-process.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

const KILLS = 20;
const ROOM = 'loop';
const PASSWORD = 'walnut glacier piano 42 ember';
const EVENT_MS = 30_000;
const USERS = ['alice', 'bob'] as const;
type User = (typeof USERS)[number];

/** mulberry32: a small seeded generator, so a failing run can be repeated with its seed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

interface HistoryEntry {
  id: string;
  from: string;
  text: string;
}

/** One run of `node peer --json` for a user, with what it printed from its start. */
interface Run {
  proc: PeerProcess;
  /** The ids of the messages it showed (message events), in order. */
  shown: string[];
  errors: PeerEvent[];
  /** Every request written to it, by the id PeerProcess gave it (1, 2, ...): the msg_room texts. */
  requests: Map<number, string | undefined>;
  /** Resolves once stdout and stderr are closed (everything it printed has been read). */
  closed: Promise<void>;
}

interface Member {
  user: User;
  data: string;
  run: Run;
  /** Messages this user sent whose msg_room answer was printed: id -> text, in order of the answers. */
  sent: Map<string, string>;
  /** Ids of my messages I was told are delivered (count >= 1: the other member has them). */
  delivered: Set<string>;
}

test(`${KILLS} SIGKILLs at random points of a send and receive loop: each restart has every acknowledged message and its history intact`, { timeout: 180_000 }, async (t) => {
  checkPeerBundle();
  const seed = Number(process.env.SIGKILL_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const random = seeded(seed);
  const pick = (n: number) => Math.floor(random() * n);
  t.diagnostic(`seed ${seed} (repeat with SIGKILL_SEED=${seed})`);
  console.log(`sigkill-peers: seed ${seed} (repeat with SIGKILL_SEED=${seed})`);

  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const trackerArg = `${tracker.host}:${tracker.port}`;
  const waiters = new Set<() => void>();
  /** Called for every line either member prints (the kill points are counted in lines). */
  let onLine: (() => void) | undefined;
  const changed = () => {
    onLine?.();
    for (const w of [...waiters]) w();
  };
  /** Resolves when `done()` holds, re-checked after every event of either member; rejects after `ms` with `what()`. */
  const until = (done: () => boolean, what: () => string, ms = EVENT_MS): Promise<void> =>
    new Promise((resolve, reject) => {
      if (done()) return resolve();
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`within ${ms} ms: ${what()}\n(seed ${seed})${members.alice.run.proc.describe()}${members.bob.run.proc.describe()}`));
      }, ms);
      waiters.add(check);
    });

  const startRun = (member: Pick<Member, 'user' | 'data'> & Partial<Member>, label: string): Run => {
    const proc = new PeerProcess({ tracker: trackerArg, data: member.data, label });
    t.after(() => proc.stop());
    const run: Run = {
      proc,
      shown: [],
      errors: [],
      requests: new Map(),
      closed: new Promise((resolve) => proc.child.once('close', () => resolve())),
    };
    proc.on('event', (e) => {
      if (e.event === 'message' && e.room === ROOM) run.shown.push(String(e.id));
      if (e.event === 'delivered' && e.room === ROOM && Number(e.count) >= 1) member.delivered?.add(String(e.id));
      if (e.event === 'error') run.errors.push(e);
      changed();
    });
    return run;
  };
  /** Writes a command to the member's current run, remembering which request id it got. */
  const request = (m: Member, cmd: Record<string, unknown>) => {
    const run = m.run;
    run.requests.set(run.requests.size + 1, cmd.cmd === 'msg_room' ? String(cmd.text) : undefined);
    return run.proc.request(cmd);
  };
  const ok = async (m: Member, cmd: Record<string, unknown>) => {
    const { answer } = await request(m, cmd);
    if (!answer.ok) throw new Error(`${m.user}: ${JSON.stringify(cmd)} failed: ${JSON.stringify(answer.error)}`);
    return answer;
  };
  let counter = 0;
  /** Sends one room message; records it as sent once its answer is printed. Resolves with its id, or undefined if the run died first. */
  const send = async (m: Member): Promise<string | undefined> => {
    const text = `${m.user} says #${++counter} (${seed})`;
    const run = m.run;
    try {
      const answer = await ok(m, { cmd: 'msg_room', room: ROOM, text });
      m.sent.set(String(answer.messageId), text);
      changed();
      return String(answer.messageId);
    } catch (err) {
      if (run.proc.running) throw err;
      return undefined;
    }
  };

  // Set up: both registered (real scrypt in the child), alice owns the room, bob joined.
  const members = {} as Record<User, Member>;
  for (const user of USERS) {
    const data = await mkdtemp(join(tmpdir(), `p2p-sigkill-${user}-`));
    removeDataFolder(t, data);
    const m: Member = { user, data, run: undefined as unknown as Run, sent: new Map(), delivered: new Set() };
    m.run = startRun(m, user);
    members[user] = m;
    await ok(m, { cmd: 'register', user, password: PASSWORD });
    await ok(m, { cmd: 'login', user, password: PASSWORD });
  }
  const { alice, bob } = members;
  const other = (m: Member) => (m === alice ? bob : alice);
  const roomId = String((await ok(alice, { cmd: 'create_room', room: ROOM })).roomId);
  const joined = alice.run.proc.waitEvent('member_joined', (e) => e.user === 'bob', EVENT_MS);
  await ok(bob, { cmd: 'join_room', room: ROOM });
  await joined;

  /** Every message of the room in `m`'s history, oldest first, paged 500 at a time with `before`. */
  const history = async (m: Member): Promise<HistoryEntry[]> => {
    const all: HistoryEntry[] = [];
    let before: string | undefined;
    for (;;) {
      const page = await ok(m, { cmd: 'history', room: ROOM, limit: 500, ...(before ? { before } : {}) });
      const messages = page.messages as HistoryEntry[];
      all.unshift(...messages);
      if (!page.more) return all;
      assert.ok(messages.length > 0, 'a page that says more has messages');
      before = messages[0].id;
    }
  };
  /** What `m`'s store holds, read from its data folder while it is down (the same order as history). */
  const onDisk = (m: Member): HistoryEntry[] => {
    const { db, history: stored } = new DataFolder(m.data, false).openStore(m.user);
    try {
      const all: HistoryEntry[] = [];
      let before: string | undefined;
      for (;;) {
        const page = stored.page(roomId, { limit: 500, ...(before ? { before } : {}) });
        all.unshift(...page.messages.map((s) => ({ id: s.id, from: s.from, text: s.text })));
        if (!page.more) return all;
        before = page.messages[0].id;
      }
    } finally {
      db.close();
    }
  };
  /** Every message `m` acknowledged: the ones its peer was told it has, and its own that were answered. */
  const acknowledged = (m: Member): Map<string, string> => {
    const peer = other(m);
    const must = new Map<string, string>(m.sent);
    for (const id of peer.delivered) must.set(id, peer.sent.get(id) ?? '?');
    return must;
  };
  const checkHolds = (who: string, list: HistoryEntry[], must: Map<string, string>) => {
    const ids = list.map((e) => e.id);
    assert.equal(new Set(ids).size, ids.length, `${who}: a message twice: ${ids.filter((id, i) => ids.indexOf(id) !== i)} (seed ${seed})`);
    const byId = new Map(list.map((e) => [e.id, e]));
    const missing = [...must.keys()].filter((id) => !byId.has(id));
    const origin = (id: string) => {
      const by = alice.sent.has(id) ? alice : bob.sent.has(id) ? bob : undefined;
      return by ? `${id} sent by ${by.user} (answered${by.delivered.has(id) ? ', delivered' : ''})` : `${id} (?)`;
    };
    assert.deepEqual(missing.map(origin), [], `${who}: acknowledged messages missing (${missing.length} of ${must.size}) (seed ${seed})`);
    for (const [id, text] of must) if (text !== '?') assert.equal(byId.get(id)!.text, text, `${who}: the text of ${id}`);
  };

  /** Where every message stands, for a failure's message: both histories (with waitingFor) and outboxes. */
  const state = async (): Promise<string> => {
    const lines: string[] = [];
    for (const m of [alice, bob]) {
      const h = await ok(m, { cmd: 'history', room: ROOM, limit: 500 }).catch((e: Error) => ({ messages: [], error: e.message }));
      const o = await ok(m, { cmd: 'outbox' }).catch((e: Error) => ({ pending: [], error: e.message }));
      const links = await ok(m, { cmd: 'list_conn' }).catch((e: Error) => ({ links: [], error: e.message }));
      lines.push(`${m.user} history: ${JSON.stringify((h.messages as { id: string; from: string; waitingFor?: string[] }[]).map((e) => [e.id, e.from, e.waitingFor ?? []]))}`);
      lines.push(`${m.user} outbox: ${JSON.stringify(o.pending)}; links: ${JSON.stringify(links.links)}; shown this run: ${m.run.shown.length}`);
    }
    return lines.join('\n');
  };
  const started = performance.now();
  for (let round = 1; round <= KILLS; round++) {
    const victim = pick(2) === 0 ? alice : bob;
    const survivor = other(victim);
    // Both send a few messages, one after another (each waits for its answer), at the same time;
    // the victim is killed at the K-th line (answer or event) either of them prints from now on
    // (K = 0: right after the first sends are written).
    const perSide = 2 + pick(6);
    const killAt = pick(4 * perSide);
    const deadRun = victim.run;
    let lines = 0;
    const kill = () => {
      if (deadRun.proc.running) deadRun.proc.child.kill('SIGKILL');
    };
    onLine = () => {
      if (lines++ === killAt) kill();
    };
    if (killAt === 0) setImmediate(kill); // right after the first sends are written
    await Promise.all([victim, survivor].map(async (m) => {
      for (let i = 0; i < perSide; i++) if ((await send(m)) === undefined) return;
    }));
    onLine = undefined;
    kill(); // it finished before the K-th line: killed now
    await deadRun.closed;
    await deadRun.proc.exited;
    // Answers it printed that were read after its exit are acknowledged too.
    for (const line of deadRun.proc.strayLines) {
      let a: { id?: number; ok?: boolean; messageId?: string };
      try {
        a = JSON.parse(line);
      } catch {
        continue;
      }
      const text = typeof a.id === 'number' ? deadRun.requests.get(a.id) : undefined;
      if (a.ok && a.messageId && text !== undefined) victim.sent.set(a.messageId, text);
    }

    // While it is down: its store on disk holds everything it acknowledged; its peer sends more.
    checkHolds(`round ${round}: ${victim.user}'s store after SIGKILL`, onDisk(victim), acknowledged(victim));
    const whileDown: string[] = [];
    for (let i = 1 + pick(3); i > 0; i--) whileDown.push((await send(survivor))!);

    // Restarted on the same folder: it resumes its session and has everything it acknowledged.
    victim.run = startRun(victim, `${victim.user} (restart ${round})`);
    await victim.run.proc.waitEvent('ready', () => true, EVENT_MS);
    checkHolds(`round ${round}: ${victim.user}'s history after the restart`, await history(victim), acknowledged(victim));

    // What was sent to it while it was down arrives now, and what it had sent reaches its peer.
    await until(
      () => whileDown.every((id) => victim.run.shown.includes(id)),
      () => `round ${round}: ${victim.user} did not show what ${survivor.user} sent while it was down: ${whileDown.filter((id) => !victim.run.shown.includes(id))}`,
    );
    const everyoneHas = () => USERS.every((u) => [...members[u].sent.keys()].every((id) => members[u].delivered.has(id)));
    await until(everyoneHas, () => `round ${round}: not delivered: ${USERS.map((u) => `${u}: ${[...members[u].sent.keys()].filter((id) => !members[u].delivered.has(id))}`).join('; ')}`).catch(async (err: Error) => {
      throw new Error(`${err.message}\n${await state()}`);
    });
    // Its own messages stored but never answered (killed between the two) are in its outbox: they go too.
    for (const m of [victim, survivor]) {
      const pending = ((await ok(m, { cmd: 'outbox' })).pending as { id: string; roomId: string }[]).filter((p) => p.roomId === roomId).map((p) => p.id);
      await until(() => pending.every((id) => m.delivered.has(id)), () => `round ${round}: ${m.user}'s outbox still holds ${pending.filter((id) => !m.delivered.has(id))}`);
    }

    // Both histories: the same messages in the same order, each once, all acknowledged ones there.
    const [ha, hb] = [await history(alice), await history(bob)];
    checkHolds(`round ${round}: alice's history`, ha, acknowledged(alice));
    checkHolds(`round ${round}: bob's history`, hb, acknowledged(bob));
    assert.deepEqual(hb.map((e) => e.id), ha.map((e) => e.id), `round ${round}: both histories in the same order (seed ${seed})`);
    assert.deepEqual(victim.run.errors, [], `round ${round}: ${victim.user} reported errors after its restart`);
    console.log(`round ${round}: ${victim.user} killed at line ${killAt}; ${ha.length} messages in both histories`);
  }
  const total = alice.sent.size + bob.sent.size;
  console.log(`sigkill-peers: ${KILLS} kills, ${total} acknowledged messages, ${Math.round(performance.now() - started)} ms`);
  assert.ok(total >= KILLS, 'messages were really exchanged');
});
