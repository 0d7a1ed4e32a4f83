// Do reactions and edits slow down plain messages? (issue 12, `npm run bench`, in the room of 2.)
//
// Two `node peer --json` processes of a room (test/bench/run.ts sets them up): the sender sends
// plain messages paced at `rate`/s, the other member receives them; in alternating rounds the
// other member also sends, at `actionRate`/s, reactions and edits at the same time, as a person
// in a lively room would (`on: 'recent'`, the default): reactions put on (and now and then taken
// back) on the sender's newest messages it received, edits of its own few messages. `on: 'one'`
// is the stress case instead: every reaction toggles one of five emoji on one message, every
// edit rewrites one message (hundreds of rows on one message from one member). Compared: the paced latency (command written to the
// sender -> message event read from the receiver, one clock: this process) of plain messages
// alone and with the stream. Also reported: how fast the actions reached the sender.
// Rounds alternate (plain, with, plain, with, ...) so a machine that gets busier later does not
// count against one side only.

import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PeerEvent, PeerProcess, TimedAnswer } from '../helpers/peer-process.ts';
import type { ReportRow } from './report.ts';
import { cpuSeconds, machineCpuSeconds, percentile } from './stats.ts';

export interface ActionsBenchOptions {
  sender: PeerProcess;
  /** The other member: receives the paced messages, sends the reactions and edits. */
  member: PeerProcess;
  room: string;
  roomSize: number;
  /** Paced messages per round (each side gets `rounds` rounds). */
  messages: number;
  /** Plain messages per second. */
  rate: number;
  /** Reactions and edits per second during a round "with". */
  actionRate: number;
  /** What the reactions and edits are on (see above); default 'recent'. */
  on?: 'recent' | 'one';
  rounds?: number;
  /** Cores of the machine (for the share other processes used). */
  cores?: number;
  log?: (line: string) => void;
}

export interface ActionsBenchResult {
  rows: ReportRow[];
  notes: string[];
}

const EMOJI = ['👍', '🎉', '👀', '🚀', '❤️'];
/** 'recent': reactions go to the sender's newest this many messages the member received. */
const RECENT = 5;
/** 'recent': the member's own messages its edits go to, in turn. */
const OWN = 4;
/** At most this many action commands unanswered at once: a peer that falls behind is not buried. */
const MAX_OUTSTANDING = 64;
const GRACE_MS = 15_000;
const r2 = (x: number) => (Number.isFinite(x) ? Math.round(x * 100) / 100 : null);
/** CPU over one round: the two peers' CPU seconds, and the machine's busy core-seconds spent by anything else. */
interface RoundCpu {
  wallS: number;
  peersS: number;
  otherS: number;
}
function cpuRound(o: ActionsBenchOptions): () => RoundCpu | null {
  const pids = [o.sender.pid, o.member.pid];
  const at = performance.now();
  const peers0 = pids.map(cpuSeconds);
  const self0 = process.cpuUsage();
  const m0 = machineCpuSeconds();
  return () => {
    const peers1 = pids.map(cpuSeconds);
    const m1 = machineCpuSeconds();
    if (!m0 || !m1 || peers0.some((x) => x === null) || peers1.some((x) => x === null)) return null;
    const peersS = peers1.reduce((a: number, x, i) => a + (x! - peers0[i]!), 0);
    const self = process.cpuUsage(self0);
    return { wallS: (performance.now() - at) / 1000, peersS, otherS: Math.max(0, m1.busy - m0.busy - peersS - (self.user + self.system) / 1e6) };
  };
}
function sumCpu(xs: (RoundCpu | null)[]): RoundCpu | null {
  if (!xs.length || xs.some((x) => x === null)) return null;
  return xs.reduce((a, x) => ({ wallS: a!.wallS + x!.wallS, peersS: a!.peersS + x!.peersS, otherS: a!.otherS + x!.otherS }), { wallS: 0, peersS: 0, otherS: 0 });
}
const cpuNote = (c: RoundCpu | null, cores: number) =>
  c ? `the two peers used ${(c.peersS / c.wallS * 100).toFixed(0)}% of a core; other processes ${(c.otherS / (c.wallS * cores) * 100).toFixed(0)}% of the machine` : 'CPU n/a';

const stat = (xs: number[]) => ({ p50: r2(percentile(xs, 50)), p99: r2(percentile(xs, 99)), max: r2(percentile(xs, 100)), n: xs.length });

/** The stream of actions from `member`: reactions toggled on the sender's `target`, edits of its own `own`. */
class ActionStream {
  sent = 0;
  answered = 0;
  failed = 0;
  firstError: string | undefined;
  /** Time from writing an action on the member to reading its event on the sender. */
  readonly reached: number[] = [];
  /** Per (kind, emoji/on or text): write times of the actions the sender has not shown yet, oldest first. */
  private readonly writtenAt = new Map<string, number[]>();
  private unseen = 0;
  private allSeen: (() => void) | undefined;
  private stopped = false;
  private outstanding = 0;
  private readonly off: () => void;
  private readonly done: Promise<void>;

  /** 'recent': ids of the newest plain messages of the round the member received, oldest first. */
  private readonly recent: string[] = [];

  constructor(private readonly o: ActionsBenchOptions, private readonly target: string, private readonly own: readonly string[], round: number, roundPrefix: string) {
    const onSender = (e: PeerEvent, at: number) => {
      if (e.room !== o.room) return;
      const key = e.event === 'reaction' ? `r|${String(e.id)}|${String(e.emoji)}|${String(e.on)}` : e.event === 'edited' ? `e|${String(e.text)}` : undefined;
      const w = key === undefined ? undefined : this.writtenAt.get(key)?.shift();
      if (w === undefined) return;
      this.reached.push(at - w);
      if (--this.unseen === 0) this.allSeen?.();
    };
    const onMember = (e: PeerEvent) => {
      if (e.event !== 'message' || e.room !== o.room || typeof e.text !== 'string' || !e.text.startsWith(roundPrefix)) return;
      this.recent.push(String(e.id));
      if (this.recent.length > RECENT) this.recent.shift();
    };
    o.sender.on('event', onSender);
    o.member.on('event', onMember);
    this.off = () => {
      o.sender.off('event', onSender);
      o.member.off('event', onMember);
    };
    this.done = this.run(round);
  }

  private async run(round: number): Promise<void> {
    const interval = 1000 / this.o.actionRate;
    const start = performance.now();
    const on = new Map<string, boolean>();
    const pending: Promise<void>[] = [];
    for (let i = 0; !this.stopped; i++) {
      const wait = start + i * interval - performance.now();
      if (wait > 0) await sleep(wait);
      if (this.stopped) break;
      if (this.outstanding >= MAX_OUTSTANDING) continue;
      let cmd: Record<string, unknown>;
      let key: string;
      const recent = this.o.on !== 'one';
      if (i % 3 === 2) {
        const text = `edited ${round}.${i}: the plan for friday, take ${i}`;
        const own = recent ? this.own[(i / 3 | 0) % this.own.length]! : this.own[0]!;
        cmd = { cmd: 'edit', room: this.o.room, messageId: own, text };
        key = `e|${text}`;
      } else {
        // Toggled: 'recent': an emoji on a message among the newest received (before any arrived,
        // the fixed target), mostly put on, taken back when it comes round again; 'one': one of
        // five emoji on the one message, on and off in turn.
        const messageId = recent ? this.recent[i % this.recent.length] ?? this.target : this.target;
        const emoji = EMOJI[(recent ? i * 7 : i) % EMOJI.length]!;
        const was = on.get(`${messageId}|${emoji}`) ?? false;
        const next = !was;
        on.set(`${messageId}|${emoji}`, next);
        cmd = { cmd: 'react', room: this.o.room, messageId, emoji, on: next };
        key = `r|${messageId}|${emoji}|${next}`;
      }
      this.sent++;
      this.outstanding++;
      const p = this.o.member.request(cmd);
      // The sender's event is matched by what it carries, the oldest write of the same first.
      let times = this.writtenAt.get(key);
      if (!times) this.writtenAt.set(key, (times = []));
      times.push(performance.now());
      this.unseen++;
      pending.push(p.then((a: TimedAnswer) => this.answer(key, a), (err: Error) => this.answer(key, undefined, err)));
    }
    await Promise.all(pending);
  }

  private answer(key: string, a: TimedAnswer | undefined, err?: Error): void {
    this.outstanding--;
    if (a?.answer.ok) {
      this.answered++;
      return;
    }
    // Refused: the sender will show nothing for it.
    this.failed++;
    this.writtenAt.get(key)?.pop();
    if (--this.unseen === 0) this.allSeen?.();
    this.firstError ??= a ? `${a.answer.error?.code}: ${a.answer.error?.message}` : String(err?.message);
  }

  /** Stops sending; waits (at most GRACE_MS) until the sender has shown every action sent. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    if (this.unseen > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((r) => (this.allSeen = r)), new Promise<void>((r) => (timer = setTimeout(r, GRACE_MS)))]);
      clearTimeout(timer);
    }
    this.off();
  }
}

/** One paced round: latencies of the plain messages from the sender to the member. */
async function pacedRound(o: ActionsBenchOptions, prefix: string): Promise<{ latencies: number[]; lost: number }> {
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let got = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => (resolveAll = r));
  const head = `${prefix}#`;
  const onMember = (e: PeerEvent, at: number) => {
    if (e.event !== 'message' || e.room !== o.room || typeof e.text !== 'string' || !e.text.startsWith(head)) return;
    const seq = Number(e.text.slice(head.length, e.text.indexOf('|')));
    const w = sentAt.get(seq);
    if (w === undefined) return;
    sentAt.delete(seq);
    latencies.push(at - w);
    if (++got === o.messages) resolveAll();
  };
  o.member.on('event', onMember);
  const answers: Promise<TimedAnswer>[] = [];
  const interval = 1000 / o.rate;
  const start = performance.now() + 20;
  for (let i = 0; i < o.messages; i++) {
    const wait = start + i * interval - performance.now();
    if (wait > 0) await sleep(wait);
    sentAt.set(i, performance.now());
    answers.push(o.sender.request({ cmd: 'msg_room', room: o.room, text: `${prefix}#${i}|plain message ${i} of ${o.messages}` }));
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([all, new Promise<void>((r) => (timer = setTimeout(r, GRACE_MS)))]);
  clearTimeout(timer);
  o.member.off('event', onMember);
  const failed = (await Promise.allSettled(answers)).filter((s) => s.status === 'rejected' || !s.value.answer.ok).length;
  if (failed) throw new Error(`${failed} plain messages were refused by the sender`);
  return { latencies, lost: o.messages - got };
}

/** Runs the comparison; rows for the second table of run.ts, notes under it. */
export async function actionsBench(o: ActionsBenchOptions): Promise<ActionsBenchResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const rounds = o.rounds ?? 2;
  const notes: string[] = [];
  const tag = `actions${o.roomSize}`;
  // What the stream acts on: a message of the sender's (reactions) and one of the member's own (edits).
  const targetText = `${tag}-target|react to this`;
  const ownTexts = Array.from({ length: OWN }, (_, i) => `${tag}-own${i}|the plan for friday, part ${i + 1}`);
  const targetSeen = o.member.waitEvent('message', (e) => e.room === o.room && e.text === targetText, 30_000);
  const target = String((await o.sender.ok({ cmd: 'msg_room', room: o.room, text: targetText })).messageId);
  await targetSeen;
  const own: string[] = [];
  for (const text of ownTexts) {
    const ownSeen = o.sender.waitEvent('message', (e) => e.room === o.room && e.text === text, 30_000);
    own.push(String((await o.member.ok({ cmd: 'msg_room', room: o.room, text })).messageId));
    await ownSeen;
  }
  const probe = await o.member.request({ cmd: 'react', room: o.room, messageId: target, emoji: '👋', on: true });
  const available = probe.answer.ok;
  if (!available) {
    const why = `${probe.answer.error?.code}: ${probe.answer.error?.message}`;
    notes.push(`reactions and edits vs plain messages: the \`react\` command answered ${why}; only the plain rounds ran`);
    log(`actions bench: react is not available (${why}): plain rounds only`);
  }
  const plain: number[] = [];
  const withActions: number[] = [];
  let lostPlain = 0;
  let lostWith = 0;
  const streams: ActionStream[] = [];
  const cpuPlain: (RoundCpu | null)[] = [];
  const cpuWith: (RoundCpu | null)[] = [];
  const cores = o.cores ?? 2;
  for (let r = 0; r < rounds; r++) {
    log(`room of ${o.roomSize}: round ${r + 1}/${rounds}, ${o.messages} plain messages at ${o.rate}/s alone`);
    const meterPlain = cpuRound(o);
    const a = await pacedRound(o, `${tag}p${r}`);
    cpuPlain.push(meterPlain());
    plain.push(...a.latencies);
    lostPlain += a.lost;
    if (!available) continue;
    log(`room of ${o.roomSize}: round ${r + 1}/${rounds}, ${o.messages} plain messages at ${o.rate}/s with ${o.actionRate}/s reactions and edits from the other member`);
    const meterWith = cpuRound(o);
    const stream = new ActionStream(o, target, own, r, `${tag}w${r}#`);
    streams.push(stream);
    try {
      const b = await pacedRound(o, `${tag}w${r}`);
      withActions.push(...b.latencies);
      lostWith += b.lost;
    } finally {
      await stream.stop();
      cpuWith.push(meterWith());
    }
  }
  const base = stat(plain);
  const busy = stat(withActions);
  const label = `paced ${o.rate}/s plain, room of ${o.roomSize}`;
  const rows: ReportRow[] = [
    { metric: `${label}: alone`, value: base.p99, unit: 'ms p99', note: `p50 ${base.p50}, max ${base.max} ms; ${base.n} deliveries over ${rounds} rounds; lost ${lostPlain}; ${cpuNote(sumCpu(cpuPlain), cores)}`, ...base, lost: lostPlain, cpu: sumCpu(cpuPlain) },
  ];
  if (available) {
    const sent = streams.reduce((s, x) => s + x.sent, 0);
    const failed = streams.reduce((s, x) => s + x.failed, 0);
    const reached = stat(streams.flatMap((s) => s.reached));
    const firstError = streams.find((s) => s.firstError)?.firstError;
    const dp50 = busy.p50 !== null && base.p50 !== null ? r2(busy.p50 - base.p50) : null;
    const dp99 = busy.p99 !== null && base.p99 !== null ? r2(busy.p99 - base.p99) : null;
    rows.push(
      { metric: `${label}: with ${o.actionRate}/s reactions + edits`, value: busy.p99, unit: 'ms p99', note: `p50 ${busy.p50}, max ${busy.max} ms; ${busy.n} deliveries; lost ${lostWith}; difference p50 ${dp50}, p99 ${dp99} ms; ${cpuNote(sumCpu(cpuWith), cores)}`, ...busy, lost: lostWith, deltaP50: dp50, deltaP99: dp99, cpu: sumCpu(cpuWith) },
      { metric: `reactions + edits reaching the sender, room of ${o.roomSize}`, value: reached.p50, unit: 'ms p50', note: `p99 ${reached.p99} ms; ${sent} sent (2 reactions : 1 edit, ${o.on === 'one' ? 'all on one message' : `on the ${RECENT} newest messages and ${OWN} own ones`}), ${failed} refused${firstError ? ` (${firstError})` : ''}, ${reached.n} seen by the sender`, ...reached, sent, failed },
    );
  }
  return { rows, notes };
}
