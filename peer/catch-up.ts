// Catch-up and forwarding (DESIGN.md "Delivery, history, nothing lost"). On every new link each
// side sends, per conversation both share, a summary of the sender sessions it holds (per session:
// the highest sequence held with none missing below). The other side answers with the session
// bundles and envelopes it holds beyond that, less what that link carried already (the summary
// was made as the link opened; peer/link-carried.ts): its own messages (the outbox's retry) and
// other members' (forwarding to a member who was away). Nothing forwarded needs trust: the receiver
// checks the original sender's signature, membership at the envelope's head and its replay state
// exactly as for a direct message. A member gets only sessions whose bundle was wrapped for them
// (they were a member at its head) and only while they are still a member: what was sent after a
// kick or a leave never reaches them, through any member.

import { CATCH_UP_PAGE, CATCH_UP_QUEUE_BYTES, CATCH_UP_STALL_MS, CATCH_UP_WINDOW, HELD_MAX_AGE_MS, HELD_MAX_PER_ROOM, dmRoom, isDmRoom, type ConversationId, type Envelope, type PeerMessage, type SessionBundle } from '../protocol/peer.ts';
import { sentBefore, type Conversations } from './conversations.ts';
import type { HeldEnvelopes } from './held-envelopes.ts';
import type { PeerLink } from './link.ts';
import { carried, noteCarried } from './link-carried.ts';

type Summary = Extract<PeerMessage, { t: 'summary' }>;
type Ack = Extract<PeerMessage, { t: 'ack' }>;

export interface CatchUpParts {
  me: string;
  held: HeldEnvelopes;
  conversations: Conversations;
  /** Commits the store's pending writes (what a summary says it holds must be on disk). */
  commit: () => void;
  /** `peer` holds my session `session` in `room` up to `seq` with none missing: the outbox may let go. */
  peerHolds: (peer: string, room: ConversationId, session: string, seq: number) => void;
  /** The tracker says `user` is online. */
  online: (user: string) => boolean;
  /**
   * Whether the bundle is signed by its sender's key as pinned here now: a session made under a
   * key since replaced (a name deleted and registered again) is not served, since no receiver could
   * verify it (the new holder of the name least of all).
   */
  signedByPinned: (bundle: SessionBundle) => boolean;
  /**
   * When the message stored here at (room, sender, session, seq) is a delete of a message of
   * `sender` stored here: that message's session and seq; otherwise undefined.
   */
  deletedTarget: (room: ConversationId, sender: string, session: string, seq: number) => { session: string; seq: number } | undefined;
  /** A link to `user` is open. */
  linked: (user: string) => boolean;
  /** Runs `use` with each open link to `user` (none when unlinked). */
  withLink: (user: string, use: (link: PeerLink) => void) => void;
  /** Opens a link to `user` (a new link starts catch-up, see offer). */
  dial: (user: string) => Promise<boolean>;
  /** Members my outbox waits for, and how to try them now (the outbox's retry). */
  waiting: () => Set<string>;
  retry: (user: string) => void;
  now: () => number;
  report: (err: unknown, from?: string) => void;
  track: (work: Promise<void>) => void;
}

/** How often held envelopes past their bounds are dropped. */
const HELD_SWEEP_MS = 10 * 60_000;
/** A room's members are asked again (askAgain) at most this often (ms). */
const ASK_AGAIN_MS = 10_000;
/** Members dialled by askAgain when fewer are linked. */
const ASK_AGAIN_DIALS = 3;
/** Rooms whose last askAgain is remembered. */
const MAX_ASKED_AGAIN = 1024;
/** Links opened at once for catch-up (the rest follow as members write or come back). */
const MAX_CATCH_UP_DIALS = 64;

/** Acknowledgements seen on a link while a catch-up waits for the receiver to keep up. */
interface Progress {
  acked: number;
  wake?: () => void;
}

/** One conversation's catch-up as the asking side: the link asked now, the links waiting their turn. */
interface Pull {
  link?: PeerLink;
  timer?: NodeJS.Timeout;
  queue: PeerLink[];
  /** The claims (claimKey) the summary sent on `link` asks for. */
  claims?: string[];
}

/** A claim held (HeldEnvelopes.claim) as one string. */
const claimKey = (sender: string, session: string, seq: number) => `${sender} ${session} ${seq}`;

export class CatchUp {
  private readonly progress = new WeakMap<PeerLink, Progress>();
  private readonly pulls = new Map<ConversationId, Pull>();
  /** Per room: when its members were last asked again (askAgain), ms. */
  private readonly askedAgain = new Map<ConversationId, number>();
  private readonly sweep: NodeJS.Timeout;
  /** One catch-up at a time per link and conversation: a second summary waits its turn. */
  private readonly running = new WeakMap<PeerLink, Map<ConversationId, Promise<void>>>();
  /**
   * Per link asked: the conversations it is being asked for and its one 'close' listener. One per
   * link, removed once it answered everything: a listener per ask would pile up on a long-lived
   * link (one per shared room, one more each time a member answers and is asked again).
   */
  private readonly asking = new WeakMap<PeerLink, { rooms: Set<ConversationId>; onClose: () => void }>();
  /**
   * Per "room\nuser": the claims that user answered (`caught_up`) without the envelope, in this
   * run. Asked again of them, a claim would bring every later envelope of its session again on
   * each new link (an honest member's claims are dead edits, held by nobody): each is asked of
   * each member once per run.
   */
  private readonly claimsAnswered = new Map<string, Set<string>>();

  constructor(private readonly parts: CatchUpParts) {
    // What members made me hold is bounded: by age and per room (protocol/peer.ts HELD_MAX_*).
    this.prune();
    this.sweep = setInterval(() => this.prune(), HELD_SWEEP_MS);
    this.sweep.unref();
  }

  /**
   * Links to those of `users` who are online and share something with me (a room, a direct
   * conversation held here, a message waiting), at most MAX_CATCH_UP_DIALS at once: each new link
   * exchanges summaries both ways. After sign-in, resume, and when a member comes back or moves.
   */
  reach(users: string[]): void {
    const { me, conversations, held } = this.parts;
    const waiting = this.parts.waiting();
    const shares = (u: string) => waiting.has(u) || conversations.sharedWith(u).length > 0 || held.summary(dmRoom(me, u)).length > 0;
    const wanted = users.filter((u) => u !== me && this.parts.online(u) && !this.parts.linked(u) && shares(u));
    for (const u of wanted.slice(0, MAX_CATCH_UP_DIALS)) {
      if (waiting.has(u)) this.parts.retry(u);
      else this.parts.track(this.parts.dial(u).then(() => {}));
    }
  }

  /**
   * A new link to `peer`: my summary of every conversation we share (rooms, and our direct
   * conversation), which asks them for what I lack. Per conversation one member is asked at a
   * time: the next is asked (with a fresh summary) once the one before answered `caught_up`, its
   * link closed, or it sent nothing for CATCH_UP_STALL_MS.
   */
  offer(peer: string, link: PeerLink): void {
    const { conversations, me, held } = this.parts;
    const rooms = [...conversations.sharedWith(peer)];
    if (peer === me) {
      // Another device of mine shares every conversation: my direct ones too (it asks me in turn
      // for those it knows and I do not: onSummary).
      for (const id of held.rooms()) if (isDmRoom(id) && conversations.find(id)) rooms.push(id);
    } else {
      const dm = conversations.find(dmRoom(me, peer));
      if (dm) rooms.push(dm.id);
    }
    for (const room of rooms) this.pull(room, link);
  }

  /**
   * Asks `room`'s members linked now for what I lack of it, at most once per ASK_AGAIN_MS per
   * room: an envelope came straight from a member who left, which is taken only from the others
   * (peer/room-messages.ts namedAtDeparture; an honest one may still have been on its way when
   * the leave came, and the others hold it).
   */
  askAgain(room: ConversationId): void {
    const now = this.parts.now();
    const last = this.askedAgain.get(room);
    if (last !== undefined && now - last < ASK_AGAIN_MS) return;
    this.askedAgain.delete(room);
    this.askedAgain.set(room, now);
    // Rooms of mine only, but they may be many: the oldest asks go first.
    if (this.askedAgain.size > MAX_ASKED_AGAIN) this.askedAgain.delete(this.askedAgain.keys().next().value!);
    const conversation = this.parts.conversations.find(room);
    if (!conversation) return;
    const others = conversation.members.filter((u) => u !== this.parts.me && this.parts.online(u));
    const linked = others.filter((u) => this.parts.linked(u));
    for (const u of linked) this.parts.withLink(u, (link) => this.pull(room, link));
    // A new link asks by itself (offer); a few are enough, each is asked in turn.
    if (linked.length < ASK_AGAIN_DIALS) for (const u of others.filter((x) => !linked.includes(x)).slice(0, ASK_AGAIN_DIALS - linked.length)) this.parts.track(this.parts.dial(u).then(() => {}));
  }

  /** Asks `link` for what I lack of `room`, when no other member is being asked for it. */
  private pull(room: ConversationId, link: PeerLink): void {
    {
      let pull = this.pulls.get(room);
      if (!pull) this.pulls.set(room, (pull = { queue: [] }));
      // One link per user waits its turn: a member claiming many devices cannot queue many
      // silent links ahead of the others (each costs CATCH_UP_STALL_MS).
      if (pull.link === link || pull.queue.some((l) => l === link || l.remoteUser === link.remoteUser)) return;
      if (pull.link) pull.queue.push(link);
      else this.ask(room, pull, link);
    }
  }

  /** `link` answered my summary for `room` completely. */
  onCaughtUp(link: PeerLink, msg: Extract<PeerMessage, { t: 'caught_up' }>): void {
    const pull = this.pulls.get(msg.room);
    if (pull?.link === link && pull.claims?.length) {
      const key = `${msg.room}\n${link.remoteUser}`;
      let answered = this.claimsAnswered.get(key);
      if (!answered) this.claimsAnswered.set(key, (answered = new Set()));
      for (const c of pull.claims) answered.add(c);
    }
    this.asked(msg.room, link);
  }

  /** Bundles and envelopes of `room` keep coming on `link`: the member asked is still answering. */
  answering(link: PeerLink, room: ConversationId): void {
    const pull = this.pulls.get(room);
    if (pull?.link === link) pull.timer?.refresh();
  }

  close(): void {
    clearInterval(this.sweep);
    for (const [room, pull] of this.pulls) {
      clearTimeout(pull.timer);
      if (pull.link) this.unwatch(pull.link, room);
    }
    this.pulls.clear();
  }

  private prune(): void {
    try {
      this.parts.held.prune({ now: this.parts.now(), maxAgeMs: HELD_MAX_AGE_MS, maxPerRoom: HELD_MAX_PER_ROOM });
    } catch (err) {
      this.parts.report(err);
    }
  }

  private ask(room: ConversationId, pull: Pull, link: PeerLink): void {
    // A summary ends waits in the other side's outbox: it must not name what a crash could still undo.
    this.parts.commit();
    const { sessions, claims } = this.summary(room, link.remoteUser);
    if (!link.send({ t: 'summary', room, sessions })) return this.next(room, pull);
    pull.link = link;
    pull.claims = claims;
    pull.timer = setTimeout(() => this.asked(room, link), CATCH_UP_STALL_MS);
    pull.timer.unref();
    this.watch(link, room);
  }

  /**
   * My summary of `room` for `user`: per session, what I hold with none missing, a claim counted
   * as missing (catch-up asks for it: a member holding its envelope serves it) unless `user`
   * answered every claim of that session there already in this run. `claims`: those it asks for.
   */
  private summary(room: ConversationId, user: string): { sessions: { sender: string; session: string; seq: number }[]; claims: string[] } {
    const { held } = this.parts;
    const bySession = new Map<string, number[]>();
    for (const c of held.claims(room)) {
      const key = `${c.sender} ${c.session}`;
      bySession.set(key, [...(bySession.get(key) ?? []), c.seq]);
    }
    const answered = this.claimsAnswered.get(`${room}\n${user}`);
    const claims: string[] = [];
    const sessions = held.summary(room).map(({ sender, session, seq }) => {
      const mine = bySession.get(`${sender} ${session}`);
      if (!mine) return { sender, session, seq };
      const upTo = held.upTo(room, sender, session);
      const open = mine.filter((c) => c > seq && c <= upTo).map((c) => claimKey(sender, session, c));
      if (open.every((c) => answered?.has(c))) return { sender, session, seq: upTo };
      claims.push(...open);
      return { sender, session, seq };
    });
    return { sessions, claims };
  }

  /** `link` is asked for `room`: its closing moves that pull on (one listener per link). */
  private watch(link: PeerLink, room: ConversationId): void {
    let watched = this.asking.get(link);
    if (!watched) {
      const rooms = new Set<ConversationId>();
      const onClose = () => {
        this.asking.delete(link);
        for (const r of [...rooms]) this.asked(r, link);
      };
      link.once('close', onClose);
      this.asking.set(link, (watched = { rooms, onClose }));
    }
    watched.rooms.add(room);
  }

  /** `link` is no longer asked for `room`; with nothing left to ask it, its listener goes. */
  private unwatch(link: PeerLink, room: ConversationId): void {
    const watched = this.asking.get(link);
    if (!watched) return;
    watched.rooms.delete(room);
    if (watched.rooms.size > 0) return;
    link.off('close', watched.onClose);
    this.asking.delete(link);
  }

  private asked(room: ConversationId, link: PeerLink): void {
    const pull = this.pulls.get(room);
    if (!pull || pull.link !== link) return;
    clearTimeout(pull.timer);
    pull.link = pull.timer = pull.claims = undefined;
    this.unwatch(link, room);
    this.next(room, pull);
  }

  private next(room: ConversationId, pull: Pull): void {
    for (let link = pull.queue.shift(); link; link = pull.queue.shift()) {
      if (!link.closed) return this.ask(room, pull, link);
    }
    this.pulls.delete(room);
  }

  /** A peer's summary: send what it lacks and may read; learn what it holds of mine and what I lack. */
  onSummary(from: string, msg: Summary, link: PeerLink): void {
    const conversation = this.parts.conversations.find(msg.room);
    // Only current members are served: a departed or kicked member gets nothing more (told so
    // at once, so that it asks its next member).
    if (!conversation || !conversation.members.includes(from) || !conversation.members.includes(this.parts.me)) {
      link.send({ t: 'caught_up', room: msg.room });
      return;
    }
    const theirs = new Map<string, number>();
    for (const s of msg.sessions) theirs.set(`${s.sender} ${s.session}`, s.seq);
    const mine = this.parts.held.summary(msg.room);
    // What they say they hold of others' sessions is only a claim (it could invent gaps): the
    // envelopes they send are what counts. What they hold of mine ends its wait in my outbox.
    for (const s of msg.sessions) if (s.sender === this.parts.me) this.parts.peerHolds(from, msg.room, s.session, s.seq);
    // Asked about a direct conversation I hold nothing of (it began on another device of mine
    // while this one was away): I ask back.
    if (isDmRoom(msg.room) && mine.length === 0) this.pull(msg.room, link);
    let perLink = this.running.get(link);
    if (!perLink) this.running.set(link, (perLink = new Map()));
    const before = perLink.get(msg.room) ?? Promise.resolve();
    const work = before
      .then(() => this.serve(from, msg.room, mine, theirs, link))
      .catch((err) => this.parts.report(err, from))
      .finally(() => link.send({ t: 'caught_up', room: msg.room }));
    perLink.set(msg.room, work);
    this.parts.track(work);
  }

  /** Acks on a link move a waiting catch-up on. */
  onAck(link: PeerLink, msg: Ack): void {
    const p = this.progress.get(link);
    if (!p) return;
    p.acked += msg.seqs.length;
    p.wake?.();
  }

  /**
   * Sends `from` the envelopes of every session (in the order they were made) beyond what its
   * summary holds and `link` has not carried, each session's bundle first (none for a session
   * whose envelopes it all carried), in pages of CATCH_UP_PAGE paced by the receiver's acks (its
   * inbox for one peer is bounded) or CATCH_UP_STALL_MS without any, and by the bytes waiting on
   * `link` (at most CATCH_UP_QUEUE_BYTES before the next send).
   */
  private async serve(from: string, room: ConversationId, mine: { sender: string; session: string; seq: number }[], theirs: Map<string, number>, link: PeerLink): Promise<void> {
    const { held, conversations, me } = this.parts;
    // Only what was sent while they have been a member without a break (not before a leave or a
    // kick). From senders no longer members what their leave (or kick) says they had sent by
    // then, and beyond it only their deletes (a receiver refuses anything else from them): a member
    // away must still get what they said, and lose the text they deleted, after they left.
    const since = conversations.memberSince(room, from);
    const members = conversations.find(room)?.members ?? [];
    if (since === undefined) return;
    const sessions: { bundle: SessionBundle; after: number; departed: boolean; sent?: ReadonlyMap<string, number> }[] = [];
    for (const s of mine) {
      // Their own messages too: another device of theirs may lack them (their summary says what
      // they hold, so nothing they have is sent again).
      const departed = s.sender !== me && !members.includes(s.sender);
      const bundle = held.bundle(room, s.sender, s.session);
      if (!bundle || bundle.head.seq < since || !bundle.wraps.some((w) => w.to === from) || !this.parts.signedByPinned(bundle)) continue;
      const theirSeq = theirs.get(`${s.sender} ${s.session}`);
      sessions.push({ bundle, after: theirSeq ?? -1, departed, ...(departed ? { sent: conversations.departure(room, s.sender, bundle.head)?.sent } : {}) });
    }
    sessions.sort((a, b) => a.bundle.created - b.bundle.created);
    let progress = this.progress.get(link);
    if (!progress) {
      const created: Progress = { acked: 0 };
      this.progress.set(link, (progress = created));
      link.once('close', () => created.wake?.());
    }
    // A departed sender's delete goes only to a member whose summary says it holds the target: a
    // receiver refuses one of a message not held there (nothing to remove), so sending it would
    // only be refused again at every catch-up.
    const holdsTarget = (sender: string, t: { session: string; seq: number } | undefined) => t !== undefined && (theirs.get(`${sender} ${t.session}`) ?? -1) >= t.seq;
    let sent = 0;
    for (const s of sessions) {
      const { sender, session } = s.bundle;
      let bundleSent = false;
      for (let after = s.after; ;) {
        const page: Envelope[] = held.after(room, sender, session, after, CATCH_UP_PAGE);
        if (page.length === 0) break; // nothing more they lack
        after = page[page.length - 1].seq;
        // What this link carried already (my live sends, an earlier answer) reaches them before
        // this answer: sent again, an old session's key would come after they evicted it.
        const lacking = page.filter((e) => !carried(link, room, sender, session, e.seq) && (!s.departed || sentBefore(s.sent, e) || holdsTarget(sender, this.parts.deletedTarget(room, sender, session, e.seq))));
        if (lacking.length === 0) continue;
        // The bundle goes first even when their summary names the session: a summary says what
        // they hold, and a crash can leave a held bundle whose key never reached their journal
        // (a bundle they hold already is ignored there).
        if (!bundleSent && (!(await drained(link)) || !link.send({ t: 'session', bundle: s.bundle }))) return;
        bundleSent = true;
        for (const envelope of lacking) {
          // Waiting for the link to drain lets live sends go first: one may have carried it since.
          if (link.queuedBytes > CATCH_UP_QUEUE_BYTES && (!(await drained(link)) || carried(link, room, sender, session, envelope.seq))) {
            if (link.closed) return;
            continue;
          }
          if (!link.send({ t: 'envelope', envelope })) return;
          noteCarried(link, envelope);
          sent++;
        }
        if (!(await this.keepUp(link, progress, sent))) return;
      }
    }
  }

  /**
   * Waits until the receiver has acknowledged all but CATCH_UP_WINDOW of what was sent, or no ack came
   * for CATCH_UP_STALL_MS (messages it refuses are never acked; the next pages still go). False
   * when the link closed.
   */
  private async keepUp(link: PeerLink, progress: Progress, sent: number): Promise<boolean> {
    while (!link.closed && sent - progress.acked > CATCH_UP_WINDOW) {
      const seen = progress.acked;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CATCH_UP_STALL_MS);
        progress.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      progress.wake = undefined;
      if (progress.acked === seen) break; // stalled: go on, the receiver refuses some
    }
    return !link.closed;
  }
}

/**
 * Waits while more than CATCH_UP_QUEUE_BYTES wait to go out on `link` (every room served on it
 * looks at this one queue), so a catch-up never has the link close itself as a slow consumer.
 * Resolves at once when below; false when the link closed.
 */
async function drained(link: PeerLink): Promise<boolean> {
  while (!link.closed && link.queuedBytes > CATCH_UP_QUEUE_BYTES) {
    await new Promise<void>((resolve) => {
      const done = () => {
        link.off('drain', done);
        link.off('close', done);
        resolve();
      };
      link.on('drain', done);
      link.on('close', done);
    });
  }
  return !link.closed;
}
