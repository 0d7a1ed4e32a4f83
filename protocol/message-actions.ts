// What a message can do to an earlier one of its conversation (issue 12: replies, reactions,
// edits, deletes, read receipts), declared once for the wire, the engine, the terminal and the
// view. Each action is an ordinary end-to-end encrypted, signed message in the conversation's
// sender-key session (protocol/peer.ts messageBodySchema `action`), so it reaches members who are
// away like any message and is kept in the same store. Receivers decide what an action may do:
// only a message's author can edit or delete it (the envelope's signed sender against the stored
// message's sender), and an action names a message of its own conversation only.

import { ProtocolError } from './errors.ts';
import { bool, obj, str, variants, type Infer, type Schema } from './schema.ts';

/** A message id as senders choose them (peer/room-messages.ts makes 16 base64url characters). */
export const messageIdSchema = str({ min: 1, max: 64 });

/** One reaction: at most this many UTF-16 units (a flag, a family with skin tones and joiners fit). */
export const MAX_EMOJI_CHARS = 32;
/** Different emoji kept per message (the rest are not counted, oldest kept): a member cannot grow a row without bound. */
export const MAX_REACTIONS_PER_MESSAGE = 24;
/** Characters a reply's quote shows of the original. */
export const QUOTE_CHARS = 140;

// An emoji: pictographs, regional indicators (flags), keycaps, with their joiners, variation
// selectors, skin-tone modifiers and tags; at least one pictograph or flag letter, nothing else
// (no text, no control or bidi characters: a reaction is shown raw under other people's messages).
const EMOJI = /^(?:[\p{Extended_Pictographic}\p{Regional_Indicator}\p{Emoji_Modifier}\u200d\ufe0f\u20e3\u{e0020}-\u{e007f}#*0-9])+$/u;
const PICTOGRAPH = /[\p{Extended_Pictographic}\p{Regional_Indicator}\u20e3]/u;

/** Whether `s` is one reaction this protocol accepts (see EMOJI above). */
export function isEmoji(s: string): boolean {
  return s.length > 0 && s.length <= MAX_EMOJI_CHARS && EMOJI.test(s) && PICTOGRAPH.test(s);
}

const emojiChars = str({ min: 1, max: MAX_EMOJI_CHARS });
/** One reaction (isEmoji), refused otherwise with request.invalid. */
export const emojiSchema: Schema<string> = {
  parse(v: unknown, path = 'emoji') {
    const s = emojiChars.parse(v, path);
    if (!isEmoji(s)) throw new ProtocolError('request.invalid', `${path}: must be one emoji`);
    return s;
  },
};

/**
 * A message's action on an earlier message `of` of the same conversation (absent: a plain message):
 * - `react`: `emoji` on (added) or off (taken back) by the sender; the latest per (sender, emoji) wins.
 * - `edit`: the message's text becomes this message's `text` (the author's only; latest wins).
 * - `delete`: the message becomes "message deleted" and its text is removed from every store (the author's only).
 * - `read`: the sender has read the conversation up to and including `upTo` (a read receipt).
 * Action messages other than `edit` carry an empty `text` and are never shown as messages.
 */
export const messageActionSchema = variants('t', {
  react: obj({ of: messageIdSchema, emoji: emojiSchema, on: bool() }),
  edit: obj({ of: messageIdSchema }),
  delete: obj({ of: messageIdSchema }),
  read: obj({ upTo: messageIdSchema }),
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
