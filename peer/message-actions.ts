// What action messages (protocol/message-actions.ts: reactions, edits, deletes, read receipts) do
// to the messages they name, decided by this device from its own store, never trusted from the
// sender: an edit or delete applies only when its envelope's signed sender is the target's
// author, and only to a message of its own conversation (looked up by (conversation, id)).
// Order does not matter: an action whose target has not arrived is kept as a row and applied,
// with the same check, when the target arrives (catch-up brings messages in any order); of
// reactions, edits and deletes, a sender's newest few (History MAX_PENDING_ACTIONS). The state
// of a message is read from its action rows when shown (`stateOf`), so nothing else is kept.
//
// A delete removes the text from this store at once: the target's sealed body and its author's
// edit rows are sealed again without it, the search index forgets it, and the store checkpoints
// its WAL after the commit (peer/store-db.ts scrubAfterCommit; secure_delete zeroes freed pages).

import type { ClientEvents } from '../protocol/client.ts';
import { MAX_EDITS_NAMED, MAX_REACTIONS_PER_MESSAGE, MAX_REACTIONS_PER_USER, canonicalEmoji, type ReactionCount } from '../protocol/message-actions.ts';
import { isDmRoom, type ConversationId } from '../protocol/peer.ts';
import type { History, StoredMessage } from './history.ts';
import type { IndexedMessage, SearchIndex } from './search-index.ts';

/** Reaction rows read per message: a member toggling for ever cannot make a page slow. */
export const MAX_REACTION_ROWS = 2000;
/**
 * Reaction rows read per sender per message (their newest): one member toggling for ever pushes
 * out only their own older rows, never anyone else's. Far above what a person does on one message
 * (at most MAX_REACTIONS_PER_USER on at once).
 */
export const MAX_REACTION_ROWS_PER_USER = 100;
/** Members told "read up to" a message that just arrived (a room's worth). */
const MAX_READERS_TOLD = 1000;

/** What a message's actions made of it. `edited`: the author's latest text. */
export interface MessageState {
  reactions: ReactionCount[];
  edited?: string;
  deleted: boolean;
}

/** An event to emit once the row that caused it is durable. */
export type Told =
  | { name: 'reaction'; e: ClientEvents['reaction'] }
  | { name: 'edited'; e: ClientEvents['edited'] }
  | { name: 'deleted'; e: ClientEvents['deleted'] }
  | { name: 'read'; e: ClientEvents['read'] }
  | { name: 'error'; e: ClientEvents['error'] };

/**
 * What applying an action row did: `told`, the events to emit once it is durable; `dead`, the edit
 * rows whose text this store no longer keeps, whose held envelopes the caller tombstones (so
 * catch-up never serves that text): those it made dead (deadEdits), scrubbed already, and those
 * dropped (the row itself when ignored on receipt: past MAX_EDITS_NAMED, or not its message's
 * author's; a sender's older pending edits, History.prunePending).
 */
export interface Applied {
  told: Told[];
  dead: StoredMessage[];
}

/** The conversation as events name it. */
export interface Named {
  id: ConversationId;
  name: string;
}

const ACTED_ON = ['react', 'edit', 'delete'] as const;
/** What a message's arrival looks for: actions that came first, and receipts that named it. */
const WAITING = [...ACTED_ON, 'read'] as const;

export class MessageActions {
  constructor(
    private readonly history: History,
    private readonly index: SearchIndex,
    /** The store: a delete's commit is followed by a WAL checkpoint. */
    private readonly db: { scrubAfterCommit(): void },
  ) {}

  /** The state of shown message `m` from its action rows (reactions, the author's edit or delete). */
  stateOf(m: StoredMessage): MessageState {
    const { history } = this;
    if (this.deleted(m)) return { reactions: [], deleted: true };
    const [edit] = history.actionsOn(m.conversation, m.id, ['edit'], { from: m.from, limit: 1 });
    const reactions = this.reactionsOf(m);
    return { reactions, deleted: false, ...(edit ? { edited: edit.text } : {}) };
  }

  /** `m`'s reactions as shown (tally's rules), without its edit and delete state. */
  reactionsOf(m: StoredMessage): ReactionCount[] {
    return tally(this.reactionRows(m));
  }

  /** The emoji `user` has on message `m` now, as every member counts them (tally's rules). */
  reactionsBy(m: StoredMessage, user: string): Set<string> {
    // Only `user`'s rows: replay's rules are per user, and these are the rows of theirs that
    // reactionRows reads (others' rows are neither read nor opened).
    const theirs = this.history.actionsOnPerSenderOf(m.conversation, m.id, ['react'], user, { perSender: MAX_REACTION_ROWS_PER_USER, limit: MAX_REACTION_ROWS });
    return reactionsOn(theirs).get(user) ?? new Set();
  }

  /** States of the page's messages that have any action (the others have none): by id. */
  statesOf(conversation: ConversationId, page: readonly StoredMessage[]): Map<string, MessageState> {
    const acted = this.history.targetsWithActions(conversation, page.map((m) => m.id), ACTED_ON);
    const states = new Map<string, MessageState>();
    for (const m of page) if (acted.has(m.id)) states.set(m.id, this.stateOf(m));
    return states;
  }

  /**
   * A shown message just stored (mine or received): indexed for search, and actions that came
   * before it applied now. Returns whether its author deleted it already (then its text is gone
   * from the store: show it deleted), its author's edited text when an edit came first (shown
   * instead of the text it replaced), and what to tell after it.
   */
  arrived(m: StoredMessage, room: Named): { deleted: boolean; told: Told[]; edited?: string } {
    if (!this.history.targetsWithActions(m.conversation, [m.id], WAITING).size) {
      this.index.put(indexed(m, m.text));
      return { deleted: false, told: [] };
    }
    // Receipts that named it before it came count from now on (History.reads): said so.
    const told: Told[] = this.history.readersOf(m.conversation, m.id, MAX_READERS_TOLD).map((user) => ({ name: 'read', e: { room: room.name, roomId: room.id, user, upTo: m.id } }));
    const at = { room: room.name, roomId: room.id, id: m.id };
    if (this.history.hasActionByOther(m.conversation, m.id, ['edit', 'delete'], m.from)) {
      told.push({ name: 'error', e: { code: 'message.not_author', message: `ignored an edit or delete of ${m.from}'s message in ${room.name} sent by someone else` } });
    }
    const state = this.stateOf(m);
    if (state.deleted) {
      this.scrub(m);
      told.push({ name: 'deleted', e: at });
      return { deleted: true, told };
    }
    this.index.put(indexed(m, state.edited ?? m.text));
    if (state.edited !== undefined) told.push({ name: 'edited', e: { ...at, text: state.edited } });
    for (const r of state.reactions) for (const user of r.users) told.push({ name: 'reaction', e: { ...at, user, emoji: r.emoji, on: true } });
    return { deleted: false, told, ...(state.edited !== undefined ? { edited: state.edited } : {}) };
  }

  /**
   * An action row just stored (mine or received): applied to its target when that is here, with
   * the author check for edits and deletes. Returns what to tell once it is durable, and the edits
   * it made dead (deadEdits, looked up once here: their rows are scrubbed now, their held envelopes
   * are the caller's to tombstone).
   */
  applied(row: StoredMessage, room: Named): Applied {
    // Edits their sender deleted the message of lose their text now, whether that message is
    // here or not (edit-then-delete, or an edit arriving after its delete).
    const dead = this.deadEdits(row);
    for (const e of dead) this.history.scrub(e);
    if (dead.length) this.db.scrubAfterCommit();
    return { told: this.apply(row, room, dead), dead };
  }

  /**
   * What action row `row` does to its target (applied's rules), its dead edits scrubbed already:
   * what to tell. Edit rows it drops (Applied `dead`) are added to `dead`.
   */
  private apply(row: StoredMessage, room: Named, dead: StoredMessage[]): Told[] {
    const action = row.action;
    if (!action) return [];
    if (action.t === 'read') {
      this.history.pruneReads(row.conversation, row.from);
      return [{ name: 'read', e: { room: room.name, roomId: room.id, user: row.from, upTo: action.upTo, ...(action.had ? { had: action.had } : {}) } }];
    }
    const at = { room: room.name, roomId: room.id, id: action.of };
    const target = this.history.get(row.conversation, action.of);
    // What one member makes every other member keep is bounded: actions naming no message
    // here, a sender's newest few of each kind (History.prunePending: an edit's held envelope goes
    // too); a sender's reaction rows on a message, those readers read (History.pruneReactions).
    if (!target || target.action) {
      // A direct conversation that shows nothing yet is anyone's to start: a stranger's reactions
      // and edits there name nothing this member has (an edit comes after its message in its
      // author's session), and were kept unseen (8 edits of 64 KiB per stranger, each stranger an
      // account anyone registers). Not kept; a delete is (a message after its delete loses its text).
      const nowhere = isDmRoom(row.conversation) && action.t !== 'delete' && !this.history.showsAny(row.conversation);
      const dropped = this.history.prunePending(row.conversation, row.from, action.t, nowhere ? 0 : undefined);
      if (action.t === 'edit') dead.push(...dropped);
      if (nowhere) return [];
    } else if (action.t === 'react') this.history.pruneReactions(row.conversation, action.of, row.from, MAX_REACTION_ROWS_PER_USER);
    // A reaction this device does not know as one emoji (a modified client's look-alike or text,
    // or an emoji newer than this runtime's Unicode data): kept, never counted nor shown.
    const emoji = action.t === 'react' ? canonicalEmoji(action.emoji) : undefined;
    if (action.t === 'react' && emoji === undefined) {
      return [{ name: 'error', e: { code: 'request.invalid', message: `ignored a reaction from ${row.from} in ${room.name}: it is not one emoji this device knows` } }];
    }
    // Not here yet: kept, and applied (with the same checks) when it arrives (`arrived`).
    if (!target) return action.t === 'react' ? [{ name: 'reaction', e: { ...at, user: row.from, emoji: emoji!, on: action.on } }] : [];
    if (target.action) {
      return [{ name: 'error', e: { code: 'message.not_found', message: `ignored a ${action.t} from ${row.from} in ${room.name}: it names a reaction, edit or receipt, not a message` } }];
    }
    if (action.t === 'react') {
      if (this.deleted(target)) return [];
      const on = this.reactionsBy(target, row.from);
      // Beyond their cap: ignored by every member alike (tally), and said so.
      if (action.on && !on.has(emoji!) && on.size >= MAX_REACTIONS_PER_USER) {
        return [{ name: 'error', e: { code: 'request.invalid', message: `ignored a reaction from ${row.from} in ${room.name}: they have ${MAX_REACTIONS_PER_USER} on that message already, the most one member may` } }];
      }
      // The state now (an older toggle arriving late does not change it).
      return [{ name: 'reaction', e: { ...at, user: row.from, emoji: emoji!, on: on.has(emoji!) } }];
    }
    if (target.from !== row.from) {
      // Never applies, whatever comes later: an edit's text (up to 64 KiB each) is not kept.
      if (action.t === 'edit') {
        this.history.remove(row.conversation, row.id);
        dead.push(row);
      }
      return [{ name: 'error', e: { code: 'message.not_author', message: `refused ${action.t === 'edit' ? 'an edit' : 'a delete'} from ${row.from} in ${room.name}: only ${target.from}, its author, can change that message` } }];
    }
    if (action.t === 'delete') {
      // Deleted already (a delete sent again for a member who rejoined, peer/rejoin-resend.ts, or
      // by another device of its author): its text is gone, and nothing new is told.
      const deletes = this.history.actionsOn(row.conversation, target.id, ['delete'], { from: target.from, limit: 2 });
      if (deletes.some((d) => d.id !== row.id)) return [];
      this.scrub(target);
      return [{ name: 'deleted', e: at }];
    }
    // The author's client edits a message at most MAX_EDITS_NAMED times (a delete names every
    // edit); a modified client's further edits are ignored here alike (not kept, not shown), in the
    // order they arrive, after a delete too: so an author keeps at most that many edit rows of a
    // message in every member's store, and a delete naming them all removes all their text.
    if (this.history.countActions(row.conversation, target.id, 'edit', row.from, MAX_EDITS_NAMED + 1) > MAX_EDITS_NAMED) {
      this.history.remove(row.conversation, row.id);
      if (!dead.some((e) => e.id === row.id)) dead.push(row);
      return [{ name: 'error', e: { code: 'request.invalid', message: `ignored an edit from ${row.from} in ${room.name}: they edited that message ${MAX_EDITS_NAMED} times already, the most` } }];
    }
    // An edit of a message its author deleted: scrubbed above (deadEdits), never shown nor indexed.
    if (this.deleted(target)) return [];
    // The author's two newest edits, oldest first: the text shown now, and the one shown before this row.
    const newest = this.history.actionsOn(target.conversation, target.id, ['edit'], { from: target.from, limit: 2 });
    const latest = newest.at(-1);
    const text = latest?.text ?? row.text;
    const shownBefore = latest === undefined || latest.id === row.id ? (newest.length === 2 ? newest[0] : undefined) : latest;
    // The shown text did not change (an edit sent again with the same text for a member who
    // rejoined, or an older edit arriving after a newer one): nothing new is told.
    if (shownBefore !== undefined && shownBefore.text === text) return [];
    this.index.put(indexed(target, text));
    return [{ name: 'edited', e: { ...at, text } }];
  }

  /**
   * The edit rows whose text action row `row` makes dead: for a delete, every edit its sender made
   * of the message it names (the author's go with the message; anyone else's never applied); for
   * an edit, itself when its sender deleted that message already (it came after the delete). Their
   * text must not be kept, indexed, shown or served (`applied` scrubs them and hands them back; the
   * caller tombstones their held envelopes). The message named need not be here. [] for any other
   * row (no query).
   */
  deadEdits(row: StoredMessage): StoredMessage[] {
    const a = row.action;
    if (a?.t === 'delete') return this.history.actionsOn(row.conversation, a.of, ['edit'], { from: row.from, limit: -1 });
    if (a?.t === 'edit' && this.history.actionsOn(row.conversation, a.of, ['delete'], { from: row.from, limit: 1 }).length) return [row];
    return [];
  }

  /**
   * Every shown message's current text, deleted ones left out, of the conversations `keep`
   * accepts (rooms left or closed are not searched, as `SearchIndex.forget` drops them when it
   * happens): the search index's loader.
   */
  *indexable(keep: (conversation: ConversationId) => boolean = () => true): Generator<IndexedMessage> {
    yield* this.indexed(this.history.shownAsEdited(), keep);
  }

  /** indexable() of one conversation: a room rejoined goes back into the index (SearchIndex.restore). */
  indexableOf(conversation: ConversationId): Generator<IndexedMessage> {
    return this.indexed(this.history.shownAsEdited(conversation), () => true);
  }

  private *indexed(shown: Iterable<{ message: StoredMessage; edit?: StoredMessage }>, keep: (conversation: ConversationId) => boolean): Generator<IndexedMessage> {
    // Each message with its author's state read alongside it (History.shownAsEdited), so the edit
    // texts held at once are a batch's, not every edit row's in the store.
    for (const { message: m, edit } of shown) {
      if (!keep(m.conversation)) continue;
      const text = edit?.text ?? m.text;
      if (text === '' && !m.snippet) continue;
      yield indexed(m, text);
    }
  }

  /** `m`'s reaction rows as every member reads them: each sender's newest, bounded (History.actionsOnPerSender), in the order they arrived (tally's). */
  private reactionRows(m: StoredMessage): StoredMessage[] {
    return this.history.actionsOnPerSender(m.conversation, m.id, ['react'], { perSender: MAX_REACTION_ROWS_PER_USER, limit: MAX_REACTION_ROWS, order: 'arrival' });
  }

  /** Whether `m`'s author deleted it (one indexed row read; no reaction rows). */
  deleted(m: StoredMessage): boolean {
    return this.history.actionsOn(m.conversation, m.id, ['delete'], { from: m.from, limit: 1 }).length > 0;
  }

  /** Removes `m`'s text, and its author's edits' texts, from the store and the index. */
  private scrub(m: StoredMessage): void {
    this.history.scrub(m);
    for (const e of this.history.actionsOn(m.conversation, m.id, ['edit'], { from: m.from, limit: -1 })) this.history.scrub(e);
    this.index.remove(m.conversation, m.id);
    this.db.scrubAfterCommit();
  }
}

/**
 * React rows in the store order replayed as the sender's engine allows them: emoji in their
 * canonical form (look-alikes are one; anything else is skipped), the latest per (user, emoji)
 * wins, and one put on while its sender has MAX_REACTIONS_PER_USER on already is ignored.
 * `byUser`: user -> emoji -> on; `order`: each (user, emoji) in the order first given.
 */
function replay(rows: readonly StoredMessage[]): { byUser: Map<string, Map<string, boolean>>; order: { user: string; emoji: string }[] } {
  const byUser = new Map<string, Map<string, boolean>>();
  const onCount = new Map<string, number>();
  const order: { user: string; emoji: string }[] = [];
  for (const r of rows) {
    if (r.action?.t !== 'react') continue;
    const emoji = canonicalEmoji(r.action.emoji);
    if (emoji === undefined) continue;
    let theirs = byUser.get(r.from);
    if (!theirs) byUser.set(r.from, (theirs = new Map()));
    const was = theirs.get(emoji);
    const count = onCount.get(r.from) ?? 0;
    if (r.action.on && was !== true && count >= MAX_REACTIONS_PER_USER) continue;
    if (was === undefined) order.push({ user: r.from, emoji });
    theirs.set(emoji, r.action.on);
    onCount.set(r.from, count + (r.action.on ? 1 : 0) - (was ? 1 : 0));
  }
  return { byUser, order };
}

/** The emoji each user has on (replay's rules). */
function reactionsOn(rows: readonly StoredMessage[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [user, theirs] of replay(rows).byUser) out.set(user, new Set([...theirs].filter(([, on]) => on).map(([emoji]) => emoji)));
  return out;
}

/**
 * Reactions from react rows given in the order they arrived here (History.actionsOnPerSender with
 * `order: 'arrival'`): replayed in the store order (replay's rules: latest wins per (user, emoji),
 * the per-member cap), each emoji's users in the order first given, emoji in the order first given.
 *
 * When more than MAX_REACTIONS_PER_MESSAGE emoji are on, the ones shown are those with the most
 * users, ties going to the one given first as this device received them (the first arrival here of
 * a row of one of its users putting it on). Not the order first given in the store order: that is
 * the senders' signed time, which a modified client can date back at will (a receiver cannot tell
 * a backdated row from one held in a mailbox for days), so three members colluding, 8 emoji each,
 * dated before everyone else's took all 24 slots and hid every honest reaction. Now a slot is won
 * by more people reacting, which a few members cannot outdo, or by coming first for real; and a
 * reaction shown is never pushed out by ones that come later with no more users. Every member shows
 * the same emoji except in a tie for the last slots, where two members who received the tied
 * reactions in different orders may show different ones of them (rare: more than 24 different
 * emoji on one message); no order every member shares is out of a sender's hands but the emoji
 * itself, and ranking by code point would let one pick emoji that win every tie, even late.
 */
export function tally(arrived: readonly StoredMessage[]): ReactionCount[] {
  const { byUser, order } = replay([...arrived].sort(storeOrder));
  const byEmoji = new Map<string, string[]>();
  for (const { user, emoji } of order) {
    if (!byUser.get(user)!.get(emoji)) continue;
    let users = byEmoji.get(emoji);
    if (!users) byEmoji.set(emoji, (users = []));
    users.push(user);
  }
  const all = [...byEmoji].map(([emoji, users]) => ({ emoji, users }));
  if (all.length <= MAX_REACTIONS_PER_MESSAGE) return all;
  // Where each (user, emoji) was first put on, in the arrival order.
  const firstOn = new Map<string, number>();
  arrived.forEach((r, i) => {
    if (r.action?.t !== 'react' || !r.action.on) return;
    const emoji = canonicalEmoji(r.action.emoji);
    const key = `${r.from}\n${emoji}`;
    if (emoji !== undefined && !firstOn.has(key)) firstOn.set(key, i);
  });
  const first = (r: ReactionCount) => Math.min(...r.users.map((u) => firstOn.get(`${u}\n${r.emoji}`) ?? Infinity));
  const ranked = all.map((r) => ({ r, first: first(r) })).sort((a, b) => b.r.users.length - a.r.users.length || a.first - b.first);
  const kept = new Set(ranked.slice(0, MAX_REACTIONS_PER_MESSAGE).map(({ r }) => r.emoji));
  return all.filter((r) => kept.has(r.emoji));
}

/** The index's view of a message: its current text with a snippet's path and code appended. */
export function indexed(m: StoredMessage, text: string): IndexedMessage {
  const withSnippet = m.snippet ? `${text}\n${m.snippet.path}\n${m.snippet.code}` : text;
  return { conversation: m.conversation, id: m.id, from: m.from, sentAt: m.sentAt, text: withSnippet };
}

/** Whether `a` comes before `b` in the store order (sentAt, from, session, seq). */
function before(a: StoredMessage, b: StoredMessage): boolean {
  if (a.sentAt !== b.sentAt) return a.sentAt < b.sentAt;
  if (a.from !== b.from) return a.from < b.from;
  if (a.session !== b.session) return a.session < b.session;
  return a.seq < b.seq;
}

/** The store order (sentAt, from, session, seq) as a sort's comparator. */
function storeOrder(a: StoredMessage, b: StoredMessage): number {
  return before(a, b) ? -1 : before(b, a) ? 1 : 0;
}
