// What a message can do to an earlier one of its conversation (issue 12: replies, reactions,
// edits, deletes, read receipts), declared once for the wire, the engine, the terminal and the
// view. Each action is an ordinary end-to-end encrypted, signed message in the conversation's
// sender-key session (protocol/peer.ts messageBodySchema `action`), so it reaches members who are
// away like any message and is kept in the same store. Receivers decide what an action may do:
// only a message's author can edit or delete it (the envelope's signed sender against the stored
// message's sender), and an action names a message of its own conversation only.

import { ProtocolError } from './errors.ts';
import { arr, b64url, bool, int, obj, optional, str, variants, type Infer, type Schema } from './schema.ts';

/** A message id as senders choose them (peer/room-messages.ts makes 16 base64url characters). */
export const messageIdSchema = str({ min: 1, max: 64 });

/** One reaction: at most this many UTF-16 units (a flag, a family with skin tones and joiners fit). */
export const MAX_EMOJI_CHARS = 32;
/**
 * Different emoji shown per message (the rest are not counted): a member cannot grow a row without
 * bound. Those with the most users are kept, ties going to the first to arrive (peer/message-actions.ts
 * tally): not the oldest by signed time, which a modified client can date back.
 */
export const MAX_REACTIONS_PER_MESSAGE = 24;
/**
 * Different emoji one member may have on one message at once. A third of
 * MAX_REACTIONS_PER_MESSAGE: one member can fill at most 8 of its 24 slots, so the others always
 * have 16; and 8 is more than anyone puts on one message (the picker's common row is 8). The
 * sender's engine refuses the 9th; receivers ignore a 9th the same way for everyone
 * (peer/message-actions.ts tally), so a modified client gains nothing.
 */
export const MAX_REACTIONS_PER_USER = 8;
/**
 * Edits a delete names (the author's of the message it deletes): members no longer serve a
 * deleted message's edits, so one who was away closes their holes from these ids (each names its
 * seq: protocol/message-id.ts) instead of waiting for them for ever. So it is also how often an
 * author may edit one message (peer/conversation-actions.ts edit): a delete names every edit.
 */
export const MAX_EDITS_NAMED = 64;
/**
 * Entries of a read receipt's `had` (one per sender, the newest first): a room's active senders
 * fit; more are left out, and a member's message not named counts as not seen (never the other way).
 */
export const MAX_READ_HAD = 256;
/**
 * Sequences a superseding action's `covers` names at most, over all its sessions: the newest of
 * what it covers (peer/outbox.ts covered). Older ones are left out and counted missing by a member
 * who lacks them until one holding them serves them (as before `covers`). Longer lists are refused
 * like any malformed body.
 */
export const MAX_COVERED = 256;
/** Characters a reply's quote shows of the original. */
export const QUOTE_CHARS = 140;

// One emoji as Unicode recommends it for interchange (RGI: a pictograph, a flag, a keycap, a
// skin-tone or ZWJ sequence, fully qualified), nothing else: no text, no control or bidi
// characters, no "1" or "#". Built from a string: the `v` flag is past the TypeScript target.
const RGI_EMOJI = new RegExp('^\\p{RGI_Emoji}$', 'v');
const VS16 = '\ufe0f';

/**
 * The one form of reaction `s`, or undefined when it is not one emoji. Look-alikes differing only
 * in variation selectors ("👍" and "👍\ufe0f", "❤" and "❤️", "1⃣" and "1️⃣") are one reaction: the
 * RGI form is tried as given, then without U+FE0F, then with one U+FE0F after the first code
 * point; RGI lists one form of each emoji, so every look-alike that can be fixed this way meets it.
 */
export function canonicalEmoji(s: string): string | undefined {
  if (s.length === 0 || s.length > MAX_EMOJI_CHARS) return undefined;
  // Memoized: every stored reaction row is checked when read (and the RGI pattern is slow).
  if (canonicalSeen.has(s)) return canonicalSeen.get(s);
  if (canonicalSeen.size >= MAX_CANONICAL_SEEN) canonicalSeen.clear();
  const canonical = canonicalOf(s);
  canonicalSeen.set(s, canonical);
  return canonical;
}

/** Strings canonicalEmoji has answered (at most MAX_CANONICAL_SEEN, of at most MAX_EMOJI_CHARS each). */
const canonicalSeen = new Map<string, string | undefined>();
const MAX_CANONICAL_SEEN = 4096;

function canonicalOf(s: string): string | undefined {
  if (RGI_EMOJI.test(s)) return s;
  const bare = s.replaceAll(VS16, '');
  if (bare === '') return undefined;
  if (RGI_EMOJI.test(bare)) return bare;
  const first = String.fromCodePoint(bare.codePointAt(0)!);
  const qualified = first + VS16 + bare.slice(first.length);
  return RGI_EMOJI.test(qualified) ? qualified : undefined;
}

/** Whether `s` is one reaction this protocol accepts (canonicalEmoji). */
export function isEmoji(s: string): boolean {
  return canonicalEmoji(s) !== undefined;
}

const coversEntries = arr(obj({ session: b64url({ bytes: 16 }), seqs: arr(int({ min: 0 }), { max: MAX_COVERED }) }), { max: MAX_COVERED });
/** `covers` (messageActionSchema): per session of the sender, seqs; at most MAX_COVERED seqs in all, none empty. */
export const coversSchema: Schema<{ session: string; seqs: number[] }[]> = {
  parse(v: unknown, path = 'covers') {
    const list = coversEntries.parse(v, path);
    let n = 0;
    for (const c of list) {
      if (c.seqs.length === 0) throw new ProtocolError('request.invalid', `${path}: a session names no seq`);
      n += c.seqs.length;
    }
    if (n > MAX_COVERED) throw new ProtocolError('request.invalid', `${path}: names ${n} seqs; at most ${MAX_COVERED}`);
    return list;
  },
};

const emojiChars = str({ min: 1, max: MAX_EMOJI_CHARS });
/** One reaction as a sender gives it: its canonical form (canonicalEmoji), refused otherwise with request.invalid. */
export const emojiSchema: Schema<string> = {
  parse(v: unknown, path = 'emoji') {
    const s = emojiChars.parse(v, path);
    const emoji = canonicalEmoji(s);
    if (emoji === undefined) throw new ProtocolError('request.invalid', `${path}: must be one emoji`);
    return emoji;
  },
};

/**
 * A reaction as a receiver (and the store) takes it: canonical when this device knows it as one
 * emoji, else kept as sent (bounded) and never counted nor shown (tally and the `reaction` event
 * check canonicalEmoji again). Not refused outright: an emoji newer than this device's Unicode
 * data, from a member on a newer runtime, would otherwise make the whole message invalid here
 * (never acknowledged, resent for ever), and a store's rows from before this rule still open.
 */
const receivedEmojiSchema: Schema<string> = {
  parse(v: unknown, path = 'emoji') {
    const s = emojiChars.parse(v, path);
    return canonicalEmoji(s) ?? s;
  },
};

/**
 * A message's action on an earlier message `of` of the same conversation (absent: a plain message):
 * - `react`: `emoji` on (added) or off (taken back) by the sender; the latest per (sender, emoji)
 *   wins, at most MAX_REACTIONS_PER_USER on at once per sender (peer/message-actions.ts tally).
 * - `edit`: the message's text becomes this message's `text` (the author's only; latest wins).
 * - `delete`: the message becomes "message deleted", its text removed from the store of every member who receives the delete (the author's only);
 *   `edits`: the ids of the sender's edits of it (at most MAX_EDITS_NAMED, the newest), dead with it.
 *   Receivers trust nothing of it but holes: an id closes a hole only when it is derived from the
 *   delete's own sender's coordinates (peer/room-messages.ts closeHoles).
 * - `read`: the sender has read the conversation up to and including `upTo` (a read receipt).
 *   `had` (absent from older clients): for each other sender, the newest of their messages the
 *   reader held at or before `upTo` in the reader's timeline when they sent it, below any hole
 *   the reader sees in that sender's session (peer/history.ts heldUpTo; at most MAX_READ_HAD,
 *   newest first). A position alone says nothing of what the reader had: a message
 *   that reached them later but sorts before `upTo` would count as seen. A receiver counts the
 *   receipt for its own messages only up to the one `had` names (History.reads, webview/seen-by.ts);
 *   without `had`, up to `upTo` as before. Longer lists are refused like any malformed body.
 * `covers` (on `react`, `edit`, `read`; absent from older clients and when it covers nothing): my
 *   older actions this one supersedes (older receipts at or before its position, older toggles of
 *   the same emoji, older edits of the message: peer/outbox.ts covered) that some member it goes to
 *   had not had, with those they covered in turn, as (session, seqs) of the sender's own sessions
 *   (at most MAX_COVERED seqs, the newest). Their mailbox copies are withdrawn, so a member back
 *   from the mailbox alone would count them missing: a receiver counts these of the SAME sender in
 *   this conversation as not missing (peer/room-messages.ts, peer/gaps.ts skip; held as claims:
 *   catch-up still asks each member for them once per run, and one that comes is shown as usual).
 *   Only the sender's own sequences: they could as well never have sent them.
 * Action messages other than `edit` carry an empty `text` and are never shown as messages.
 * "Latest" is the store's order, by the sender's signed time: the engine dates a reaction or edit
 * after the sender's last one on that message (peer/conversation-actions.ts), so a device whose
 * clock is behind another of the same user's does not lose its later change.
 */
export const messageActionSchema = variants('t', {
  react: obj({ of: messageIdSchema, emoji: receivedEmojiSchema, on: bool(), covers: optional(coversSchema) }),
  edit: obj({ of: messageIdSchema, covers: optional(coversSchema) }),
  delete: obj({ of: messageIdSchema, edits: optional(arr(messageIdSchema, { max: MAX_EDITS_NAMED })) }),
  read: obj({ upTo: messageIdSchema, had: optional(arr(messageIdSchema, { max: MAX_READ_HAD })), covers: optional(coversSchema) }),
});
export type MessageAction = Infer<typeof messageActionSchema>;
export type MessageActionType = MessageAction['t'];

/** A reaction as history and the view show it: the emoji and who reacted, in the order they did. */
export interface ReactionCount {
  emoji: string;
  users: string[];
}

/** Search (engine `search`, the view's search box, the palette, the terminal's `search TEXT`). */
export const SEARCH_LIMITS = {
  /** Characters of a query. */
  queryChars: 200,
  /** Results one search returns by default and at most. */
  defaultResults: 50,
  maxResults: 500,
  /** Characters of a result's text around the first match (the result's context). */
  contextChars: 160,
} as const;
