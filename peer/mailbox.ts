// The client side of the tracker's mailbox (`node tracker --mailbox`, DESIGN.md "Delivery,
// history, nothing lost"): a holder of sealed envelopes and bundles for members who are offline,
// used only when the tracker advertises one. Depositing: my messages waiting for a member (bundle
// first) go to their mailbox when a send to them fails, when the tracker says they went offline
// (a message they never acknowledged), and after each sign-in and resume for every member with
// something waiting whom the tracker shows offline (deposits that failed while the tracker was
// away); a deposit refused for now (server.busy, a timeout) is tried again on a backoff. They
// still wait in my outbox until the member has them. Collecting: after sign-in and each resume, my
// mailbox is read page by page and every item goes through the same checks as a message from a
// link (signature, membership at its head, replay), and only once they are shown and stored is
// the page acknowledged.
// Withdrawing: when I delete a message of mine that still waited for members, it is taken back
// from their mailboxes (a member away during many messages would otherwise take it on one page
// and its delete on a later one, and see the text); and when a newer receipt, toggle or edit of
// mine supersedes one a member's mailbox holds (peer/outbox.ts add: their mailbox would fill with
// receipts and refuse real messages). The withdrawals are kept in the store
// (peer/outbox.ts withdraw) until the tracker answered, sent at once when online and again after
// each sign-in and resume; each goes after any deposit for that member under way, which may carry
// the message (the tracker then removes it; a later deposit never holds it: it left the outbox).
// What the tracker confirmed holding is marked in the store (peer/outbox.ts deposited), so a
// restart deposits only what is not there yet (the tracker keeps every envelope copy it is given,
// each one counted against both quotas and taken by the recipient again; a session bundle it keeps
// once, tracker/mailbox.ts, so each deposit carries it again). Withdrawals past the store's
// bound forget the oldest; the user is told once, with how many.

import { EventEmitter } from 'node:events';
import { isCoded } from '../protocol/errors.ts';
import type { PeerMessage } from '../protocol/peer.ts';
import { MAILBOX_FRAME_LIMIT, MAILBOX_MAX_ITEMS_PER_WITHDRAW, type MailboxDrop, type MailboxItem } from '../protocol/tracker.ts';
import type { HeldEnvelopes } from './held-envelopes.ts';
import type { PeerLink } from './link.ts';
import type { MessagePlace, OutboxStore } from './outbox.ts';
import type { InboxItem } from './room-sync.ts';
import type { TrackerSession } from './tracker-session.ts';

/** Items in one deposit (the tracker takes up to 256 and 1 MiB a request). */
const ITEMS_PER_PUT = 100;
/**
 * Bytes of items in one deposit: the request must stay under MAILBOX_FRAME_LIMIT (1 MiB), with
 * room for what is around the items. A count alone let 13 long messages make a request the
 * tracker refused, every time, so nothing more was deposited for that member.
 */
const BYTES_PER_PUT = MAILBOX_FRAME_LIMIT - 64 * 1024;
/** Senders whose refused mailbox items are told, at most, per collection. */
const MAX_SENDERS_TOLD = 20;
/** Items taken in one page. */
const TAKE_PAGE = 200;
/** Withdrawals read from the store per round (rounds go on while they come full). */
const WITHDRAWALS_PER_ROUND = 5000;
/** Refusals that say "not now": a withdrawal is kept for the next sign-in or resume, a deposit is tried again. */
const TRANSIENT = new Set(['server.timeout', 'server.busy', 'server.shutdown', 'rate_limited']);
/** Waits before a deposit refused for now is tried again (ms), by attempt; the last repeats. */
const DEPOSIT_RETRY_MS = [1_000, 5_000, 15_000, 60_000] as const;

export interface MailboxParts {
  me: string;
  tracker: TrackerSession;
  outbox: OutboxStore;
  held: HeldEnvelopes;
  /** Handles one item as if it came from `from` over `link` (the engine's peer-message path). */
  handle: (from: string, item: InboxItem) => void | Promise<void>;
  /** Resolves when what was shown so far is durable (replay journal and store). */
  durable: () => Promise<void>;
  /** A notice for the user (the engine's error channel with a code). */
  tell: (code: 'quota.exceeded' | 'server.busy', message: string) => void;
  report: (err: unknown, from?: string) => void;
  /** Work that shutdown lets finish (a deposit made just before exit). */
  track: (work: Promise<void>) => void;
}

export class Mailbox {
  private readonly depositing = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  /** Deposits refused for now, by member: the next try and how many were refused in a row. */
  private readonly retries = new Map<string, { attempt: number; timer?: NodeJS.Timeout }>();
  private closed = false;
  private collecting?: Promise<void>;
  private withdrawing?: Promise<void>;
  private withdrawAgain = false;
  private readonly told = new Set<string>();
  /** Withdrawals forgotten past the bound and not yet told; told once until the record drains. */
  private forgotten = 0;
  private forgottenTold = false;
  private tellingForgotten = false;

  constructor(private readonly parts: MailboxParts) {}

  get enabled(): boolean {
    return this.parts.tracker.mailbox !== undefined;
  }

  /**
   * `user` cannot be reached (a send failed, they went offline, or they are offline at sign-in or
   * resume): what waits for them and is not in their mailbox yet goes there (once per message).
   * Nothing waiting: no request.
   */
  deposit(user: string): void {
    if (!this.enabled || this.closed) return;
    // A planned retry is overtaken by this round.
    clearTimeout(this.retries.get(user)?.timer);
    // One deposit per user at a time; messages that came meanwhile go in one more round.
    if (this.depositing.has(user)) {
      this.again.add(user);
      return;
    }
    // Further rounds run inside the same tracked work, so shutdown waits for them too.
    const work = (async () => {
      do {
        this.again.delete(user);
        const ok = await this.depositNow(user).then(() => true, (err) => this.refused(user, err));
        if (ok) this.retries.delete(user);
      } while (this.again.has(user));
    })().finally(() => this.depositing.delete(user));
    this.depositing.set(user, work);
    this.parts.track(work);
  }

  /**
   * Reads my mailbox to the end; each page is acknowledged once its messages are shown and stored.
   * Called after each sign-in and resume: the withdrawals still kept are sent then too.
   */
  collect(): Promise<void> {
    void this.withdraw();
    if (!this.enabled) return Promise.resolve();
    this.collecting ??= this.collectNow()
      .catch((err) => this.parts.report(err, 'the mailbox'))
      .finally(() => (this.collecting = undefined));
    return this.collecting;
  }

  /**
   * Sends the withdrawals kept in the store (my deleted messages and superseded actions, for the
   * members they still waited for) to the tracker, and forgets each once answered; one run at a time, calls during a
   * run add one more round. Offline, they wait for the next sign-in or resume (collect). Never
   * rejects: a refusal is reported.
   */
  withdraw(): Promise<void> {
    this.noteForgotten();
    if (this.withdrawing) {
      this.withdrawAgain = true;
      return this.withdrawing;
    }
    const work = (async () => {
      do {
        this.withdrawAgain = false;
        await this.withdrawNow();
      } while (this.withdrawAgain);
    })()
      .catch((err) => this.parts.report(err, 'the mailbox'))
      .finally(() => (this.withdrawing = undefined));
    this.withdrawing = work;
    this.parts.track(work);
    return work;
  }

  /** The tracker dropped items I left for someone: they still wait in my outbox; the user is told. */
  dropped(to: string, items: MailboxDrop[]): void {
    const envelopes = items.filter((i) => i.seq !== undefined);
    // Deposited again by the next deposit for them (their marks are cleared in the store).
    try {
      this.parts.outbox.deposited(to, envelopes.map((i) => ({ room: i.room, session: i.session, seq: i.seq! })), false);
    } catch (err) {
      this.parts.report(err, 'the mailbox');
    }
    if (envelopes.length) {
      this.parts.tell('quota.exceeded', `the tracker's mailbox dropped ${envelopes.length} of your messages for ${to} unread (${envelopes[0].reason}); they still wait here and go when ${to} is back`);
    }
  }

  private async depositNow(user: string): Promise<void> {
    const { outbox, held, me, tracker } = this.parts;
    const items: MailboxItem[] = [];
    const bundles = new Set<string>();
    for (const p of outbox.undepositedFor(user)) {
      const [envelope] = held.after(p.room, me, p.session, p.seq - 1, 1);
      const bundle = held.bundle(p.room, me, p.session);
      if (!envelope || envelope.seq !== p.seq || !bundle) continue;
      if (!bundles.has(`${p.room} ${p.session}`)) {
        bundles.add(`${p.room} ${p.session}`);
        items.push({ t: 'session', bundle });
      }
      items.push({ t: 'envelope', envelope });
    }
    for (const items0 of pages(items)) {
      // A message deleted while earlier pages went has left the outbox: it is not sent.
      const kept = items0.filter((it) => it.t !== 'envelope' || outbox.waitingFor(it.envelope.room, it.envelope.session, it.envelope.seq).includes(user));
      // Nor is a bundle left with none of its envelopes (it would open nothing there).
      const opened = new Set(kept.flatMap((it) => (it.t === 'envelope' ? [`${it.envelope.room} ${it.envelope.session}`] : [])));
      const page = kept.filter((it) => it.t !== 'session' || opened.has(`${it.bundle.room} ${it.bundle.session}`));
      const sent: MessagePlace[] = page.flatMap((it) => (it.t === 'envelope' ? [{ room: it.envelope.room, session: it.envelope.session, seq: it.envelope.seq }] : []));
      if (!sent.length) continue;
      await tracker.mailboxPut(user, page);
      // Committed page by page: a failure or restart later sends only the pages not answered.
      // Messages that stopped waiting for them meanwhile are taken back (after this deposit: withdraw waits for it).
      if (outbox.deposited(user, sent) > 0) void this.withdraw();
    }
  }

  /**
   * Withdrawals the store forgot past its bound (my deletes while the tracker stayed away): the
   * user is told once, at the end of the turn (a burst of deletes is one notice), with how many;
   * not again until the record drained (the tracker took them all).
   */
  private noteForgotten(): void {
    this.forgotten += this.parts.outbox.takeForgottenWithdrawals();
    if (this.forgotten === 0 || this.forgottenTold || this.tellingForgotten) return;
    this.tellingForgotten = true;
    setImmediate(() => {
      this.tellingForgotten = false;
      this.forgottenTold = true;
      const [n, bound] = [this.forgotten, this.parts.outbox.maxWithdrawals].map((x) => x.toLocaleString('en-US'));
      this.parts.tell('quota.exceeded',
        `${n} of your deleted messages (counted once per member they waited for) will not be taken back from the tracker's mailbox: ` +
        `${bound} such withdrawals already wait for the tracker to be reachable, and past that the oldest are forgotten. ` +
        'Those messages are deleted here and for every member, but a member who was away may be shown their text before the delete reaches them. ' +
        'Until the tracker takes the withdrawals that wait, each further delete forgets the oldest in the same way (not told again).');
    });
  }

  private async withdrawNow(): Promise<void> {
    const { tracker, outbox } = this.parts;
    for (;;) {
      if (tracker.state !== 'online') return;
      const batch = outbox.withdrawals(WITHDRAWALS_PER_ROUND);
      let read = 0;
      for (const [user, items] of batch) {
        read += items.length;
        // A deposit for them under way may carry one of these messages: it goes first.
        while (this.depositing.has(user)) await this.depositing.get(user);
        for (let i = 0; i < items.length; i += MAILBOX_MAX_ITEMS_PER_WITHDRAW) {
          const page = items.slice(i, i + MAILBOX_MAX_ITEMS_PER_WITHDRAW);
          // Online without a mailbox: nothing of mine is kept there (request.unknown_type alike).
          if (this.enabled) {
            try {
              await tracker.mailboxWithdraw(user, page);
            } catch (err) {
              const code = isCoded(err) ? err.code : undefined;
              if (code === undefined || TRANSIENT.has(code)) return; // kept for the next sign-in or resume
              if (code !== 'request.unknown_type') this.parts.report(err, 'the mailbox');
            }
          }
          outbox.withdrawalsDone(user, page);
        }
      }
      if (read < WITHDRAWALS_PER_ROUND) {
        // The record drained: a later overflow is told again.
        if (outbox.withdrawalsKept() === 0) {
          this.forgottenTold = false;
          this.forgotten = 0;
        }
        return;
      }
    }
  }

  /** A deposit for `user` failed with `err`: told, reported or tried again. Returns false. */
  private refused(user: string, err: unknown): false {
    if (isCoded(err) && err.code === 'request.unknown_type') return false; // no mailbox after all
    // Offline or shutting down: the outbox keeps them, and the next sign-in or resume deposits
    // again (session-lifecycle.ts catchUpAll, Delivery.resumeAll).
    if (this.parts.tracker.state !== 'online') return false;
    if (isCoded(err) && err.code === 'quota.exceeded') {
      if (this.told.has(user)) return false;
      this.told.add(user);
      // The tracker's text says which bound (their whole mailbox, my share of it, or all I left anywhere): one definition, there.
      this.parts.tell('quota.exceeded', `the tracker's mailbox refused your messages for ${user}: ${err.message}`);
      return false;
    }
    if (isCoded(err) && TRANSIENT.has(err.code)) {
      this.retryLater(user, err.retryAfterMs);
      return false;
    }
    this.parts.report(err, 'the mailbox');
    return false;
  }

  /** Planned deposit retries stop (a sign-out: this session's store is closing). */
  close(): void {
    this.closed = true;
    for (const r of this.retries.values()) clearTimeout(r.timer);
    this.retries.clear();
  }

  /**
   * A deposit for `user` was refused for now: tried again after DEPOSIT_RETRY_MS (or the
   * tracker's retryAfterMs when longer), while the tracker stays online; a deposit made meanwhile
   * replaces the try.
   */
  private retryLater(user: string, retryAfterMs = 0): void {
    let r = this.retries.get(user);
    if (!r) this.retries.set(user, (r = { attempt: 0 }));
    clearTimeout(r.timer);
    const delay = Math.max(retryAfterMs, DEPOSIT_RETRY_MS[Math.min(r.attempt, DEPOSIT_RETRY_MS.length - 1)]);
    r.attempt++;
    r.timer = setTimeout(() => {
      // Offline meanwhile: the next sign-in or resume deposits.
      if (!this.closed && this.parts.tracker.state === 'online') this.deposit(user);
    }, delay);
    r.timer.unref();
  }

  private async collectNow(): Promise<void> {
    const { tracker } = this.parts;
    // Refused like any message from a link (a forgery, a replay): never shown, and told once per
    // sender with a count (a stranger may fill a mailbox with junk: no flood of errors).
    const refused = new Map<string, { first: unknown; count: number }>();
    try {
      for (;;) {
        const { items, more } = await tracker.mailboxTake(TAKE_PAGE);
        if (items.length === 0) return;
        for (const entry of items) {
          const link = new MailboxLink(entry.from) as unknown as PeerLink;
          try {
            await this.parts.handle(entry.from, { msg: entry.msg as PeerMessage, link });
          } catch (err) {
            const r = refused.get(entry.from);
            if (r) r.count++;
            else if (refused.size < MAX_SENDERS_TOLD) refused.set(entry.from, { first: err, count: 1 });
          }
        }
        await this.parts.durable();
        await tracker.mailboxAck(items[items.length - 1].id);
        if (!more) return;
      }
    } finally {
      for (const [from, r] of refused) {
        this.parts.report(r.first, `${from} (via the mailbox${r.count > 1 ? `; ${r.count} items from ${from} refused in all, none shown` : ''})`);
      }
    }
  }
}

/**
 * What the message path needs of a link for an item from the mailbox: acks and log requests have
 * nowhere to go (the sender learns from catch-up), so they are dropped.
 */
class MailboxLink extends EventEmitter {
  readonly closed = false;
  readonly initiator = false;
  readonly remoteAddress = 'mailbox';
  constructor(readonly remoteUser: string) {
    super();
  }
  send(): boolean {
    return true;
  }
  close(): void {}
}

/** Whether `link` stands for the tracker's mailbox (an item collected from it), not a peer's link. */
export function isMailboxLink(link: PeerLink): boolean {
  return (link as unknown) instanceof MailboxLink;
}

/**
 * `items` in deposit pages of at most ITEMS_PER_PUT items and BYTES_PER_PUT bytes (as JSON), in
 * order. A bundle never ends a page: it goes with the envelope after it (the tracker drops a
 * bundle that has no envelope of its session left, tracker/mailbox.ts).
 */
function pages(items: readonly MailboxItem[]): MailboxItem[][] {
  const out: MailboxItem[][] = [];
  let page: MailboxItem[] = [];
  let bytes = 0;
  const sizes = items.map((it) => Buffer.byteLength(JSON.stringify(it)));
  for (const [i, it] of items.entries()) {
    const withNext = it.t === 'session' && i + 1 < items.length ? 1 : 0;
    const size = sizes[i];
    const needed = size + (withNext ? sizes[i + 1] : 0);
    if (page.length && (page.length + withNext >= ITEMS_PER_PUT || bytes + needed > BYTES_PER_PUT)) {
      out.push(page);
      page = [];
      bytes = 0;
    }
    page.push(it);
    bytes += size;
  }
  if (page.length) out.push(page);
  return out;
}
