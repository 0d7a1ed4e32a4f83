// A stored message as the view shows it (issue 12): its reactions with `mine`, "edited",
// "message deleted", and the quote of the message it answers. Pure (no `vscode`, no engine), so the
// rules are unit-tested directly; extension/message-updates.ts applies them to engine events.

import type { HistoryMessage } from '../protocol/client.ts';
import { QUOTE_CHARS, type ReactionCount } from '../protocol/message-actions.ts';
import type { ConversationId } from '../protocol/peer.ts';
import type { QuotedMessage, TimelineMessage } from '../protocol/view.ts';

/** Quotes kept per conversation (the most recently used); a miss asks the store again. */
export const MAX_QUOTES = 500;

/** Whether `text` mentions `me` (@me, not inside a word or another mention). */
export function mentions(me: string, text: string): boolean {
  return new RegExp(`(^|[^\\w@])@${me.replace(/[.]/g, '\\.')}\\b`, 'i').test(text);
}

/** Reactions as the view shows them: `mine` when `me` is among the users. */
export function reactionsFor(reactions: readonly ReactionCount[] | undefined, me: string): TimelineMessage['reactions'] {
  const shown = (reactions ?? []).filter((r) => r.users.length > 0).map((r) => ({ emoji: r.emoji, users: [...r.users], mine: r.users.includes(me) }));
  return shown.length ? shown : undefined;
}

/** The first QUOTE_CHARS characters (code points) of `text`, its lines joined by spaces. */
export function excerpt(text: string): string {
  const chars = [...text.replace(/\s+/g, ' ').trim()];
  return chars.length > QUOTE_CHARS ? `${chars.slice(0, QUOTE_CHARS - 1).join('')}…` : chars.join('');
}

/** The quote of stored message `m` (undefined: not stored here, only its id is known). */
export function quoteOf(id: string, m: HistoryMessage | undefined): QuotedMessage {
  if (!m) return { id };
  if (m.deleted) return { id, from: m.from, deleted: true };
  return { id, from: m.from, excerpt: excerpt(m.text || (m.snippet ? `${m.snippet.path}:${m.snippet.startLine}` : '')) };
}

/**
 * A stored message as the timeline shows it; my own carry whom they still wait for. A deleted one
 * keeps no text, snippet nor quote of what it answered (it shows "message deleted" only).
 */
export function fromHistory(m: HistoryMessage, me: string, quote?: QuotedMessage): TimelineMessage {
  const mine = m.from === me;
  const reactions = reactionsFor(m.reactions, me);
  if (m.deleted) {
    return { kind: 'message', id: m.id, from: m.from, text: '', sentAt: m.sentAt, mine, mentionsMe: false, deleted: true, ...(m.late ? { late: true } : {}) };
  }
  return {
    kind: 'message',
    id: m.id,
    from: m.from,
    text: m.text,
    sentAt: m.sentAt,
    mine,
    mentionsMe: !mine && mentions(me, m.text),
    ...(m.late ? { late: true } : {}),
    ...(mine && m.waitingFor?.length ? { waitingFor: [...m.waitingFor] } : {}),
    ...(mine && m.notDelivered?.length ? { notDelivered: [...m.notDelivered] } : {}),
    ...(m.snippet ? { snippet: m.snippet } : {}),
    ...(m.replyTo !== undefined ? { replyTo: quote ?? { id: m.replyTo } } : {}),
    ...(reactions ? { reactions } : {}),
    ...(m.edited ? { edited: true } : {}),
  };
}

/**
 * `shown` (as the window holds it: delivery counts of my own messages) with the state the store
 * has now (`stored`): text, reactions, edited, deleted. A deleted message loses its text, snippet
 * and quote here too.
 */
export function withStored(shown: TimelineMessage, stored: HistoryMessage, me: string): TimelineMessage {
  const fresh = fromHistory(stored, me, shown.replyTo);
  if (fresh.deleted) return { ...fresh, ...(shown.delivered ? { delivered: shown.delivered } : {}) };
  const next: TimelineMessage = { ...shown, text: fresh.text, mentionsMe: fresh.mentionsMe };
  for (const field of ['reactions', 'edited', 'snippet'] as const) {
    if (fresh[field] === undefined) delete next[field];
    else (next as unknown as Record<string, unknown>)[field] = fresh[field];
  }
  return next;
}

/** `m` with the quote of the message it answers replaced (a deleted original: no excerpt left). */
export function withQuote(m: TimelineMessage, quote: QuotedMessage): TimelineMessage {
  return { ...m, replyTo: quote };
}

/**
 * Quotes of messages that replies answer, per conversation (a Map: ids come from peers), bounded
 * by MAX_QUOTES each; an edit or delete of the original replaces its quote.
 */
export class QuoteCache {
  private readonly byKey = new Map<ConversationId, Map<string, QuotedMessage>>();

  /** The quote of `id`, from the cache or `lookup` (the store); a miss is not kept (the original may come later). */
  get(key: ConversationId, id: string, lookup: () => HistoryMessage | undefined): QuotedMessage {
    const quotes = this.byKey.get(key);
    const hit = quotes?.get(id);
    if (hit) {
      quotes!.delete(id);
      quotes!.set(id, hit);
      return hit;
    }
    const stored = lookup();
    const quote = quoteOf(id, stored);
    if (stored) this.set(key, id, quote);
    return quote;
  }

  /** The original changed (edited, deleted): its new quote, if it was cached. */
  replace(key: ConversationId, id: string, stored: HistoryMessage | undefined): void {
    const quotes = this.byKey.get(key);
    if (!quotes?.has(id)) return;
    if (stored) quotes.set(id, quoteOf(id, stored));
    else quotes.delete(id);
  }

  /** The original was deleted: a cached quote of it keeps its author only (its text must not linger). */
  deleted(key: ConversationId, id: string): void {
    const quotes = this.byKey.get(key);
    const hit = quotes?.get(id);
    if (hit) quotes!.set(id, { id, ...(hit.from !== undefined ? { from: hit.from } : {}), deleted: true });
  }

  forget(key: ConversationId): void {
    this.byKey.delete(key);
  }

  clear(): void {
    this.byKey.clear();
  }

  private set(key: ConversationId, id: string, quote: QuotedMessage): void {
    let quotes = this.byKey.get(key);
    if (!quotes) this.byKey.set(key, (quotes = new Map()));
    quotes.set(id, quote);
    if (quotes.size > MAX_QUOTES) quotes.delete(quotes.keys().next().value!);
  }
}
