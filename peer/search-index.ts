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
// Bounds: each message is indexed up to `maxCharsPerMessage` (default 4,096: a long snippet's tail
// is not searchable), and all messages up to `maxTotalChars` (text and folded text, default 32 M
// characters: about 90 MiB with the entries, some 250,000 chat messages; 100,000 of ~90
// characters hold 12.7 M, 35 MiB): past it the oldest messages leave the index, and coverage()
// says from when search covers history, so a caller can tell the user.

import { performance } from 'node:perf_hooks';
import { ProtocolError } from '../protocol/errors.ts';
import { SEARCH_LIMITS } from '../protocol/message-actions.ts';
import type { ConversationId } from '../protocol/peer.ts';
import { WHITESPACE, foldText, hitContext, isHighSurrogate } from './search-text.ts';

export { foldText } from './search-text.ts';

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
  /** Characters of one message that are indexed (default 4,096). */
  maxCharsPerMessage?: number;
  /** Characters (text + folded text) the whole index may hold before the oldest messages leave it (default 32,000,000). */
  maxTotalChars?: number;
}

/** How much of history a search covers, and what building the index cost. */
export interface SearchCoverage {
  /** Messages indexed now. */
  messages: number;
  /** Characters held (text + folded text): the index's size, about 1-2 bytes each. */
  chars: number;
  /** Messages that left the index because it was full (oldest first); 0 normally. */
  evicted: number;
  /**
   * When evicted > 0: messages sent before this (ms) may not be searched. Just after the newest
   * message that left, so it stays true when the index empties or an old message is put back.
   */
  searchedFrom?: number;
  built: boolean;
  /** Slices warm() ran in, and the longest one (ms): how long the event loop was held at most. */
  slices: number;
  longestSliceMs: number;
}

class Entry {
  constructor(
    readonly conversation: ConversationId,
    readonly id: string,
    readonly from: string,
    readonly sentAt: number,
    /** The message's text, up to maxCharsPerMessage. */
    readonly text: string,
    readonly folded: string,
    /** The text was longer than what is kept. */
    readonly cut: boolean,
  ) {}

  get chars(): number {
    return this.text.length + (this.folded === this.text ? 0 : this.folded.length);
  }
}

/** Oldest first: sentAt, then conversation and id (a stable order for equal times). */
function compare(a: Entry, b: Entry): number {
  return a.sentAt - b.sentAt || (a.conversation < b.conversation ? -1 : a.conversation > b.conversation ? 1 : 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

type State = 'cold' | 'building' | 'built';

export class SearchIndex {
  private readonly sliceMs: number;
  private readonly maxCharsPerMessage: number;
  private readonly maxTotalChars: number;
  private state: State = 'cold';
  /** conversation -> id -> entry: what is indexed. */
  private readonly byConversation = new Map<ConversationId, Map<string, Entry>>();
  /** Every entry, oldest first; valid once built. */
  private sorted: Entry[] = [];
  /** Until built: entries in the order they came (the store's order, nearly by time: cheap to sort). */
  private unsorted: Entry[] = [];
  private totalChars = 0;
  private evicted = 0;
  /** The newest sentAt among the messages that left the index (valid when evicted > 0). */
  private evictedThrough = -Infinity;
  private source: Iterator<IndexedMessage> | undefined;
  /** While building: what was removed or forgotten meanwhile, so a stale loaded copy is not indexed again. */
  private removedWhileBuilding = new Map<ConversationId, Set<string>>();
  private forgottenWhileBuilding = new Set<ConversationId>();
  private warming: Promise<void> | undefined;
  private slices = 0;
  private longestSliceMs = 0;
  /** Names shared by many entries (conversation ids, senders) kept once. */
  private readonly names = new Map<string, string>();

  /** `load` yields every stored message (deleted ones not); called once, on the first search or warm(). */
  constructor(private readonly load: () => Iterable<IndexedMessage>, options: SearchIndexOptions = {}) {
    this.sliceMs = options.sliceMs ?? 8;
    this.maxCharsPerMessage = options.maxCharsPerMessage ?? 4_096;
    this.maxTotalChars = options.maxTotalChars ?? 32_000_000;
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
    const ids = this.byConversation.get(entry.conversation);
    const old = ids?.get(entry.id);
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
    const old = this.byConversation.get(conversation)?.get(id);
    if (old) this.drop(old);
  }

  /** Removes a conversation's messages (left or closed). */
  forget(conversation: ConversationId): void {
    if (this.state === 'building') this.forgottenWhileBuilding.add(conversation);
    const ids = this.byConversation.get(conversation);
    if (!ids) return;
    this.byConversation.delete(conversation);
    for (const e of ids.values()) this.totalChars -= e.chars;
    if (this.state === 'built') this.sorted = this.sorted.filter((e) => e.conversation !== conversation);
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

  /** How much of history a search covers now, and what building the index cost. */
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
        if (this.byConversation.get(m.conversation)?.has(m.id)) continue;
        this.add(this.entry(m));
      }
    } catch (err) {
      this.reset();
      throw err;
    }
    this.finish();
  }

  private finish(): void {
    // Entries replaced or removed while building are no longer in byConversation.
    const all = this.current(this.unsorted);
    this.unsorted = [];
    this.sorted = all.sort(compare);
    this.state = 'built';
    this.source = undefined;
    this.removedWhileBuilding = new Map();
    this.forgottenWhileBuilding = new Set();
    this.trim();
  }

  /** Back to cold after `load` failed: nothing half-built is searched. */
  private reset(): void {
    this.state = 'cold';
    this.source = undefined;
    this.byConversation.clear();
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

  /** The entries of `list` still indexed (not replaced, removed or forgotten since). */
  private current(list: Entry[]): Entry[] {
    return list.filter((e) => this.byConversation.get(e.conversation)?.get(e.id) === e);
  }

  private count(): number {
    let n = 0;
    for (const ids of this.byConversation.values()) n += ids.size;
    return n;
  }

  // ---- entries ---------------------------------------------------------------------------------

  private entry(m: IndexedMessage): Entry {
    let text = m.text;
    const cut = text.length > this.maxCharsPerMessage;
    if (cut) {
      let end = this.maxCharsPerMessage;
      if (isHighSurrogate(text.charCodeAt(end - 1))) end--;
      // A copy, not a slice: a slice would keep the whole long text alive.
      text = Buffer.from(text.slice(0, end), 'utf16le').toString('utf16le');
    }
    const folded = foldText(text);
    return new Entry(this.name(m.conversation), m.id, this.name(m.from), m.sentAt, text, folded === text ? text : folded, cut);
  }

  private name(s: string): string {
    let kept = this.names.get(s);
    if (kept === undefined) this.names.set(s, (kept = s));
    return kept;
  }

  private add(e: Entry): void {
    let ids = this.byConversation.get(e.conversation);
    if (!ids) this.byConversation.set(e.conversation, (ids = new Map()));
    ids.set(e.id, e);
    this.totalChars += e.chars;
    if (this.state !== 'built') {
      // Edits before the build leave replaced entries behind: dropped now and then, so they cannot pile up.
      if (this.unsorted.push(e) % 4096 === 0 && this.unsorted.length > 2 * this.count()) this.unsorted = this.current(this.unsorted);
      return;
    }
    // New messages are the newest almost always: the insertion point is found from the end.
    let lo = 0;
    let hi = this.sorted.length;
    if (hi === 0 || compare(this.sorted[hi - 1]!, e) < 0) {
      this.sorted.push(e);
      return;
    }
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.sorted[mid]!, e) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.sorted.splice(lo, 0, e);
  }

  private drop(e: Entry): void {
    const ids = this.byConversation.get(e.conversation);
    if (!ids?.delete(e.id)) return;
    if (ids.size === 0) this.byConversation.delete(e.conversation);
    this.totalChars -= e.chars;
    if (this.state !== 'built') return;
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compare(this.sorted[mid]!, e) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (this.sorted[lo] === e) this.sorted.splice(lo, 1);
  }

  /** Past maxTotalChars, the oldest messages leave the index (counted in coverage().evicted). */
  private trim(): void {
    if (this.totalChars <= this.maxTotalChars) return;
    let n = 0;
    while (this.totalChars > this.maxTotalChars && n < this.sorted.length) {
      const e = this.sorted[n++]!;
      const ids = this.byConversation.get(e.conversation)!;
      ids.delete(e.id);
      if (ids.size === 0) this.byConversation.delete(e.conversation);
      this.totalChars -= e.chars;
      if (e.sentAt > this.evictedThrough) this.evictedThrough = e.sentAt;
    }
    this.sorted.splice(0, n);
    this.evicted += n;
  }
}
