// Search over every conversation's stored history (issue 12), in the engine's memory only.
//
// Sealed at rest: nothing of the index is ever written to disk. The store keeps every message
// sealed (AES-GCM per row, peer/store-db.ts); this index holds plaintext in this process's heap
// only, is built from the sealed store by `load` on the first search (or warm()) after a start,
// and is gone when the process ends. No terms, no positions, no hashes of words reach a file.
//
// Matching: the query and every message are folded the same way (NFKD, combining marks
// stripped, lowercased: "É" finds "e", "Ärger" finds "arger"); a message matches when each word of
// the query occurs in it as a substring (no regular expressions: a query is plain text). Messages
// are kept sorted oldest to newest, so a search walks from the newest end and stops at `limit`:
// a linear scan of folded strings (100,000 messages: a few ms, test/bench/search-bench.ts).
//
// Bounds: each message is indexed whole: up to `maxCharsPerMessage` characters (default
// MAX_INDEXED_CHARS, the most a message can hold: its text, a snippet's path and code), counted
// before and after folding (a character can fold to 18: the kept text is the prefix whose folding
// fits, so only a message of such characters loses its tail, and its hits end in "…"). A long
// message costs the budget what it holds, so it leaves first when its sender holds the most. Each message is charged its text, its folded
// text when that differs, and ENTRY_CHARS for the entry itself (so a flood of one-character
// messages is charged what it holds). All of it up to `maxTotalChars` (default 48 M: at most about
// 90 MiB of heap whatever the messages are, 1.4-1.9 bytes per character charged, measured with chat
// text, one-character messages, CJK and U+FDFA; some 180,000 chat messages: the bench's 100,000
// are charged 26 M, test/bench/search-bench.ts): past it messages leave the
// index, the oldest of the sender holding the most in the conversation holding the most first (a
// fair share three times over: one sender's flood of their direct conversation or of one room
// evicts that conversation's history, not everyone's, and in that room the flooder's own oldest,
// not the other members'; the direct conversations I never wrote in share one part, so many
// strangers evict one another's), and searchedFrom() says from when search covers all of a conversation's history
// (older messages are covered in part), so a caller can tell the user (protocol/search-coverage.ts).
// While building from a store bigger than that, what is loaded is trimmed at twice the budget.

import { performance } from 'node:perf_hooks';
import { ProtocolError } from '../protocol/errors.ts';
import { SEARCH_LIMITS } from '../protocol/message-actions.ts';
import { isDmRoom, type ConversationId } from '../protocol/peer.ts';
import { MAX_TEXT_BYTES } from '../protocol/text-limit.ts';
import { Entry, Held, Sent, compare, insert, overShare, unsort } from './search-entries.ts';
import { WHITESPACE, foldBounded, foldText, hitContext } from './search-text.ts';

export { foldText } from './search-text.ts';
export { ENTRY_CHARS } from './search-entries.ts';

/**
 * The most characters one message can give the index (message-actions.ts indexed): its text and a
 * snippet's code, each at most MAX_TEXT_BYTES (so at most as many UTF-16 units) on the wire, the
 * path up to 1,024, two newlines between. Was 4,096: words further into a pasted log or a long
 * snippet were silently not found.
 */
export const MAX_INDEXED_CHARS = 2 * MAX_TEXT_BYTES + 1_024 + 2;

/** One message as the index sees it: `text` its current text (a snippet's path and code appended). */
export interface IndexedMessage {
  conversation: ConversationId;
  id: string;
  from: string;
  sentAt: number;
  text: string;
}

/** A hit: the message, `text` cut to its context around the first match. */
export type SearchHitRow = IndexedMessage;

export interface SearchIndexOptions {
  /** Longest a warm() slice runs before yielding to the event loop, in ms (default 8). */
  sliceMs?: number;
  /** Characters of one message that are indexed, before and after folding (default MAX_INDEXED_CHARS: all of it). */
  maxCharsPerMessage?: number;
  /** Characters (text, folded text, ENTRY_CHARS per message) the whole index may hold before messages leave it (default 48,000,000). */
  maxTotalChars?: number;
  /** The signed-in user: direct conversations they never wrote in share one part of a full index (`trim`). */
  me?: () => string | undefined;
}

/** How much of history a search covers, and what building the index cost. */
export interface SearchCoverage {
  /** Messages indexed now. */
  messages: number;
  /** Characters charged (text, folded text, ENTRY_CHARS per message): the index's size, about 1-2 bytes each. */
  chars: number;
  /** Messages that left the index because it was full (the oldest of the largest sender in the largest conversation first); 0 normally. */
  evicted: number;
  /**
   * When evicted > 0: every message sent from this (ms) on is searched, some sent before it are not
   * (of the senders who held the most). Just after the newest message that left, so it stays true
   * when the index empties or an old message is put back.
   */
  searchedFrom?: number;
  built: boolean;
  /** Slices warm() ran in, and the longest one (ms): how long the event loop was held at most. */
  slices: number;
  longestSliceMs: number;
}

type State = 'cold' | 'building' | 'built';

export class SearchIndex {
  private readonly sliceMs: number;
  private readonly maxCharsPerMessage: number;
  private readonly maxTotalChars: number;
  private readonly me: () => string | undefined;
  private state: State = 'cold';
  /** conversation -> its entries: what is indexed. */
  private readonly byConversation = new Map<ConversationId, Held>();
  /** Every entry, oldest first; valid once built. */
  private sorted: Entry[] = [];
  /** Until built: entries in the order they came (the store's order, nearly by time: cheap to sort). */
  private unsorted: Entry[] = [];
  private totalChars = 0;
  private evicted = 0;
  /** The newest sentAt among the messages that left the index (valid when evicted > 0). */
  private evictedThrough = -Infinity;
  /** The same per conversation: a conversation without one has lost nothing to a full index. */
  private readonly evictedThroughBy = new Map<ConversationId, number>();
  private source: Iterator<IndexedMessage> | undefined;
  /** While building: what was removed or forgotten meanwhile, so a stale loaded copy is not indexed again. */
  private removedWhileBuilding = new Map<ConversationId, Set<string>>();
  private forgottenWhileBuilding = new Set<ConversationId>();
  private warming: Promise<void> | undefined;
  private slices = 0;
  private longestSliceMs = 0;
  /** Names shared by many entries (conversation ids, senders) kept once, with how many entries hold each (gone at 0). */
  private readonly names = new Map<string, { s: string; n: number }>();

  /** `load` yields every stored message (deleted ones not); called once, on the first search or warm(). */
  constructor(private readonly load: () => Iterable<IndexedMessage>, options: SearchIndexOptions = {}) {
    this.sliceMs = options.sliceMs ?? 8;
    this.maxCharsPerMessage = options.maxCharsPerMessage ?? MAX_INDEXED_CHARS;
    this.maxTotalChars = options.maxTotalChars ?? 48_000_000;
    this.me = options.me ?? (() => undefined);
  }

  /**
   * Builds the index now, in slices of at most about `sliceMs` that yield to the event loop, so
   * the first search is fast. Rejects with what `load` threw (the index stays cold: the next
   * search or warm() loads again).
   */
  async warm(): Promise<void> {
    if (this.state === 'built') return;
    this.warming ??= (async () => {
      try {
        if (this.state === 'cold') this.begin();
        while (this.state === 'building') {
          const t0 = performance.now();
          this.step(t0 + this.sliceMs);
          const took = performance.now() - t0;
          this.slices++;
          if (took > this.longestSliceMs) this.longestSliceMs = took;
          if (this.state === 'building') await new Promise<void>((resolve) => setImmediate(resolve));
        }
      } finally {
        this.warming = undefined;
      }
    })();
    return this.warming;
  }

  /** Adds `m`, or replaces it (an edit) when (conversation, id) is indexed already. */
  put(m: IndexedMessage): void {
    const entry = this.entry(m);
    const old = this.byConversation.get(entry.conversation)?.ids.get(entry.id);
    if (old) this.drop(old);
    this.removedWhileBuilding.get(entry.conversation)?.delete(entry.id);
    this.add(entry);
    if (this.state === 'built') this.trim();
  }

  /** Removes one message (deleted). */
  remove(conversation: ConversationId, id: string): void {
    if (this.state === 'building') {
      let ids = this.removedWhileBuilding.get(conversation);
      if (!ids) this.removedWhileBuilding.set(conversation, (ids = new Set()));
      ids.add(id);
    }
    const old = this.byConversation.get(conversation)?.ids.get(id);
    if (old) this.drop(old);
  }

  /** Removes a conversation's messages (left or closed; restore() puts them back on a rejoin). */
  forget(conversation: ConversationId): void {
    if (this.state === 'building') this.forgottenWhileBuilding.add(conversation);
    this.evictedThroughBy.delete(conversation);
    const held = this.byConversation.get(conversation);
    if (!held) return;
    this.byConversation.delete(conversation);
    this.totalChars -= held.chars;
    for (const e of held.ids.values()) this.release(e);
    if (this.state === 'built') this.sorted = this.sorted.filter((e) => e.conversation !== conversation);
  }

  /**
   * Puts a conversation's stored messages back (a room rejoined after forget: until now only a
   * restart loaded them). `load` yields them as the constructor's loader does, of that
   * conversation; it is read now, to the end, unless the index is cold (its build reads them). Ones
   * indexed already (put since) are kept as they are. The budget holds as for any put: what is over
   * it leaves as trim() decides, and no more than twice the budget is held while loading.
   */
  restore(conversation: ConversationId, load: () => Iterable<IndexedMessage>): void {
    if (this.state === 'cold') return;
    this.forgottenWhileBuilding.delete(conversation);
    let fresh: Entry[] = [];
    // Built: held first and sorted in once, not inserted one by one (a long history is O(n) each).
    const merge = (): void => {
      this.unsorted = this.sorted.concat(fresh);
      fresh = [];
      this.order();
      this.trim();
    };
    try {
      for (const m of load()) {
        if (this.byConversation.get(m.conversation)?.ids.has(m.id)) continue;
        const e = this.entry(m);
        if (this.state !== 'built') {
          this.add(e);
          continue;
        }
        this.hold(e);
        fresh.push(e);
        if (this.totalChars > 2 * this.maxTotalChars) merge();
      }
    } finally {
      // Also when `load` threw: what is held must be in the order searches walk.
      if (fresh.length > 0) merge();
    }
  }

  /**
   * Messages whose text contains every word of `query` (folded, see foldText), newest first
   * (sentAt, then conversation and id), at most `limit` (1..SEARCH_LIMITS.maxResults), of one
   * `conversation` or all. Each hit's `text` is at most SEARCH_LIMITS.contextChars characters of
   * the message around its first match (whitespace runs shown as one space), with "…" on a side
   * where it was cut. A query without words finds nothing. Builds the index first if it is not
   * (synchronously: call warm() early to avoid that). Throws ProtocolError('request.invalid') for
   * a query over SEARCH_LIMITS.queryChars or a bad limit, and what `load` throws.
   */
  search(query: string, opts: { conversation?: ConversationId; limit: number }): SearchHitRow[] {
    if (query.length > SEARCH_LIMITS.queryChars) {
      throw new ProtocolError('request.invalid', `a search is at most ${SEARCH_LIMITS.queryChars} characters: shorten it`);
    }
    if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > SEARCH_LIMITS.maxResults) {
      throw new ProtocolError('request.invalid', `limit: a whole number from 1 to ${SEARCH_LIMITS.maxResults}`);
    }
    // Longest words first: they are the rarest, so a message fails its first test soonest.
    const words = [...new Set(foldText(query).split(WHITESPACE).filter((w) => w.length > 0))].sort((a, b) => b.length - a.length);
    if (words.length === 0) return [];
    this.buildNow();
    // A word longer than any message's kept folding is in none of them.
    if (words[0]!.length > this.maxCharsPerMessage) return [];
    const hits: SearchHitRow[] = [];
    const only = opts.conversation;
    next: for (let i = this.sorted.length - 1; i >= 0 && hits.length < opts.limit; i--) {
      const e = this.sorted[i]!;
      if (only !== undefined && e.conversation !== only) continue;
      for (const w of words) if (!e.folded.includes(w)) continue next;
      hits.push({ conversation: e.conversation, id: e.id, from: e.from, sentAt: e.sentAt, text: hitContext(e, words, SEARCH_LIMITS.contextChars) });
    }
    return hits;
  }

  /** How much of history a search covers now (all conversations), and what building the index cost. */
  coverage(): SearchCoverage {
    return {
      messages: this.state === 'built' ? this.sorted.length : this.count(),
      chars: this.totalChars,
      evicted: this.evicted,
      ...(this.evicted > 0 ? { searchedFrom: this.evictedThrough + 1 } : {}),
      built: this.state === 'built',
      slices: this.slices,
      longestSliceMs: this.longestSliceMs,
    };
  }

  /**
   * From when (ms) a search of `conversation` (or of all, as coverage().searchedFrom) covers all of
   * its history: undefined when none of its messages left the index. Before it, history is covered
   * in part: a full index takes from the conversation holding the most, and in it from the sender
   * holding the most, so one flooded conversation does not make the others' claim older, and in a
   * flooded room the other members' older messages stay searchable.
   */
  searchedFrom(conversation?: ConversationId): number | undefined {
    if (conversation === undefined) return this.evicted > 0 ? this.evictedThrough + 1 : undefined;
    const through = this.evictedThroughBy.get(conversation);
    return through === undefined ? undefined : through + 1;
  }

  // ---- building --------------------------------------------------------------------------------

  private begin(): void {
    this.state = 'building';
    this.source = this.load()[Symbol.iterator]();
  }

  /** Takes loaded messages until `deadline` (performance.now() ms) or the end, then finishes. */
  private step(deadline: number): void {
    const source = this.source!;
    try {
      for (let n = 0; ; n++) {
        if ((n & 63) === 63 && performance.now() >= deadline) return;
        const r = source.next();
        if (r.done) break;
        const m = r.value;
        // Removed, forgotten or put (newer) since loading began: the loaded copy is stale.
        if (this.forgottenWhileBuilding.has(m.conversation) || this.removedWhileBuilding.get(m.conversation)?.has(m.id)) continue;
        if (this.byConversation.get(m.conversation)?.ids.has(m.id)) continue;
        this.add(this.entry(m));
      }
    } catch (err) {
      this.reset();
      throw err;
    }
    this.finish();
  }

  private finish(): void {
    this.order();
    this.state = 'built';
    this.source = undefined;
    this.removedWhileBuilding = new Map();
    this.forgottenWhileBuilding = new Set();
    this.trim();
  }

  /** Sorts what was loaded (entries replaced or removed meanwhile are no longer held) and lists each sender's in each conversation. */
  private order(): void {
    this.sorted = this.current(this.unsorted).sort(compare);
    this.unsorted = [];
    for (const held of this.byConversation.values()) for (const sent of held.senders.values()) sent.list = [];
    for (const e of this.sorted) this.byConversation.get(e.conversation)!.senders.get(e.from)!.list.push(e);
  }

  /**
   * While building past twice the budget (a store far bigger than the index): trim what is loaded
   * so far, so building never holds more than that whatever the store holds.
   */
  private trimWhileBuilding(): void {
    this.order();
    this.trim();
    this.unsorted = this.sorted;
    this.sorted = [];
  }

  /** Back to cold after `load` failed: nothing half-built is searched. */
  private reset(): void {
    this.state = 'cold';
    this.source = undefined;
    this.byConversation.clear();
    this.names.clear();
    this.sorted = [];
    this.unsorted = [];
    this.totalChars = 0;
    this.removedWhileBuilding = new Map();
    this.forgottenWhileBuilding = new Set();
  }

  /** Builds synchronously what is not built yet (a search cannot wait). */
  private buildNow(): void {
    if (this.state === 'cold') this.begin();
    if (this.state === 'building') this.step(Infinity);
  }

  /** The entries of `list` still indexed (not replaced, removed, evicted or forgotten since). */
  private current(list: Entry[]): Entry[] {
    return list.filter((e) => this.byConversation.get(e.conversation)?.ids.get(e.id) === e);
  }

  private count(): number {
    let n = 0;
    for (const held of this.byConversation.values()) n += held.ids.size;
    return n;
  }

  // ---- entries ---------------------------------------------------------------------------------

  /** The entry for `m`: its text bounded before and after folding (foldBounded), its names held. */
  private entry(m: IndexedMessage): Entry {
    const { text, folded, cut } = foldBounded(m.text, this.maxCharsPerMessage);
    return new Entry(this.name(m.conversation), m.id, this.name(m.from), m.sentAt, text, folded, cut);
  }

  private name(s: string): string {
    const kept = this.names.get(s);
    if (kept === undefined) {
      this.names.set(s, { s, n: 1 });
      return s;
    }
    kept.n++;
    return kept.s;
  }

  /** An entry left: its names are let go when no entry holds them. */
  private release(e: Entry): void {
    for (const s of [e.conversation, e.from]) {
      const kept = this.names.get(s);
      if (kept && --kept.n === 0) this.names.delete(s);
    }
  }

  private add(e: Entry): void {
    const sent = this.hold(e);
    if (this.state !== 'built') {
      // Edits before the build leave replaced entries behind: dropped now and then, so they cannot pile up.
      if (this.unsorted.push(e) % 4096 === 0 && this.unsorted.length > 2 * this.count()) this.unsorted = this.current(this.unsorted);
      if (this.totalChars > 2 * this.maxTotalChars) this.trimWhileBuilding();
      return;
    }
    insert(this.sorted, e);
    insert(sent.list, e);
  }

  /** Counts `e` as indexed (its conversation's and sender's maps and sizes), not yet in any order. */
  private hold(e: Entry): Sent {
    let held = this.byConversation.get(e.conversation);
    if (!held) this.byConversation.set(e.conversation, (held = new Held()));
    let sent = held.senders.get(e.from);
    if (!sent) held.senders.set(e.from, (sent = new Sent()));
    held.ids.set(e.id, e);
    const chars = e.chars;
    held.chars += chars;
    sent.chars += chars;
    sent.count++;
    this.totalChars += chars;
    return sent;
  }

  private drop(e: Entry): void {
    const held = this.byConversation.get(e.conversation);
    if (!held?.ids.delete(e.id)) return;
    if (held.ids.size === 0) this.byConversation.delete(e.conversation);
    const sent = held.senders.get(e.from)!;
    if (--sent.count === 0) held.senders.delete(e.from);
    const chars = e.chars;
    held.chars -= chars;
    sent.chars -= chars;
    this.totalChars -= chars;
    this.release(e);
    if (this.state !== 'built') return;
    unsort(this.sorted, e);
    unsort(sent.list, e);
  }

  /**
   * Past maxTotalChars, messages leave the index (counted in coverage().evicted), max-min fair
   * three times over: the part holding the most gives up characters (a part: a room, a direct
   * conversation I wrote in, or all direct conversations I never wrote in together: anyone can
   * start one, and accounts are free, so a hundred strangers must not take a hundred shares); in a
   * part, the conversation holding the most; in it, the sender holding the most gives up their
   * oldest. A member flooding a room pushes out their own oldest, not the other members'. Every
   * part keeps at least an equal share of the budget, and so on down, or all it has when less.
   */
  private trim(): void {
    if (this.totalChars <= this.maxTotalChars) return;
    const gone: Entry[] = [];
    const me = this.me();
    const parts = new Map<string, { chars: number; conversations: Map<ConversationId, Held> }>();
    for (const [conversation, held] of this.byConversation) {
      const key = isDmRoom(conversation) && !(me !== undefined && held.senders.has(me)) ? '' : conversation;
      let part = parts.get(key);
      if (!part) parts.set(key, (part = { chars: 0, conversations: new Map() }));
      part.chars += held.chars;
      part.conversations.set(conversation, held);
    }
    const full = () => this.totalChars > this.maxTotalChars;
    for (const [, part, partShare] of overShare(parts, this.totalChars, this.maxTotalChars)) {
      for (const [conversation, held, share] of overShare(part.conversations, part.chars, partShare)) {
        for (const [from, sent, senderShare] of overShare(held.senders, held.chars, share)) {
          let n = 0;
          while (sent.chars > senderShare && full() && n < sent.list.length) {
            const e = sent.list[n++]!;
            held.ids.delete(e.id);
            const chars = e.chars;
            held.chars -= chars;
            sent.chars -= chars;
            part.chars -= chars;
            this.totalChars -= chars;
            this.release(e);
            gone.push(e);
            if (e.sentAt > this.evictedThrough) this.evictedThrough = e.sentAt;
            if (e.sentAt > (this.evictedThroughBy.get(conversation) ?? -Infinity)) this.evictedThroughBy.set(conversation, e.sentAt);
          }
          sent.list.splice(0, n);
          sent.count -= n;
          if (sent.count === 0) held.senders.delete(from);
          if (!full()) break;
        }
        if (held.ids.size === 0) this.byConversation.delete(conversation);
        if (!full()) break;
      }
      if (!full()) break;
    }
    this.evicted += gone.length;
    // Out of the order of all: one by one when few (a new message pushed one out), else in one pass.
    if (gone.length <= 16) for (const e of gone) unsort(this.sorted, e);
    else this.sorted = this.current(this.sorted);
  }
}
