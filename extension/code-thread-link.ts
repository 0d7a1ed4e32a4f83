// Code threads in every window of mine (issue 12): the window running the engine (the holder)
// passes what its code threads are told to the windows attached to it (extension/window-link.ts),
// over the same socket, and each window shows the threads of the files in ITS workspace folders.
// These are the link's thread frames: a window asks for them once (`threads/subscribe`), then the
// holder sends the newest messages of every conversation and every change after. What an attached
// window reads is checked (another local process of this user could answer on the socket) and
// bounded like every other frame; no VS Code here, so both sides are tested without it.

import { emojiSchema, MAX_REACTIONS_PER_MESSAGE, messageIdSchema } from '../protocol/message-actions.ts';
import { messageBodySchema, type ConversationId } from '../protocol/peer.ts';
import { arr, bool, int, obj, optional, str, variants, type Infer } from '../protocol/schema.ts';
import { VIEW_LIMITS, type TimelineMessage } from '../protocol/view.ts';
import type { ThreadSink } from './message-updates.ts';

/** What an attached window sends to get the thread frames. */
export const THREADS_SUBSCRIBE = 'threads/subscribe';

/** Members who gave one reaction, as a frame may carry them. */
const MAX_REACTORS = 10_000;

const roomKey = str({ min: 1, max: 80 });
const user = str({ max: VIEW_LIMITS.nameChars });

/** A message as a code thread shows it (code-threads.ts, code-thread-comments.ts): nothing else crosses. */
const threadMessageSchema = obj({
  id: messageIdSchema,
  from: user,
  text: messageBodySchema.shape.text,
  sentAt: int(),
  mine: bool(),
  mentionsMe: bool(),
  // The peer wire's own rule: what a peer could send is what a frame may carry.
  snippet: messageBodySchema.shape.snippet,
  replyTo: optional(obj({ id: messageIdSchema })),
  reactions: optional(arr(obj({ emoji: emojiSchema, users: arr(user, { max: MAX_REACTORS }), mine: bool() }), { max: MAX_REACTIONS_PER_MESSAGE })),
  edited: optional(bool()),
  deleted: optional(bool()),
});

/** The frames the holder sends: ThreadSink's calls, one each. */
export const threadFrameSchema = variants('type', {
  'threads/message': obj({ key: roomKey, title: str({ max: 200 }), message: threadMessageSchema }),
  'threads/updated': obj({ key: roomKey, message: threadMessageSchema }),
  'threads/forget': obj({ key: roomKey }),
  'threads/clear': obj({}),
});
export type ThreadFrame = Infer<typeof threadFrameSchema>;

const FRAME_TYPES: ReadonlySet<string> = new Set(['threads/message', 'threads/updated', 'threads/forget', 'threads/clear']);

/** Whether `raw` claims to be a thread frame (then it is parsed as one, and nothing else). */
export function isThreadFrameType(raw: unknown): boolean {
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  return typeof type === 'string' && FRAME_TYPES.has(type);
}

/** Whether `raw` is an attached window's `threads/subscribe`. */
export function isThreadSubscribe(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) && (raw as { type?: unknown }).type === THREADS_SUBSCRIBE;
}

/** What a thread needs of a message, and only that. */
function forLink(m: TimelineMessage): Infer<typeof threadMessageSchema> {
  return {
    id: m.id,
    from: m.from,
    text: m.text,
    sentAt: m.sentAt,
    mine: m.mine,
    mentionsMe: m.mentionsMe,
    ...(m.snippet ? { snippet: m.snippet } : {}),
    ...(m.replyTo ? { replyTo: { id: m.replyTo.id } } : {}),
    ...(m.reactions ? { reactions: m.reactions } : {}),
    ...(m.edited ? { edited: true } : {}),
    ...(m.deleted ? { deleted: true } : {}),
  };
}

/** A message a thread may hold: a snippet message, a reply (to one, maybe), or a delete (of one, maybe). */
const concerns = (m: TimelineMessage) => m.snippet !== undefined || m.replyTo !== undefined || m.deleted === true;

/** The holder's side: what its code threads are told, as frames to `send` (one window, or every subscribed one). */
export class ThreadRelay implements ThreadSink {
  constructor(private readonly send: (frame: ThreadFrame) => void) {}

  message(key: ConversationId, title: string, m: TimelineMessage): void {
    if (concerns(m)) this.send({ type: 'threads/message', key, title, message: forLink(m) });
  }

  updated(key: ConversationId, m: TimelineMessage): void {
    if (concerns(m)) this.send({ type: 'threads/updated', key, message: forLink(m) });
  }

  forget(key: ConversationId): void {
    this.send({ type: 'threads/forget', key });
  }

  clear(): void {
    this.send({ type: 'threads/clear' });
  }
}

/** The attached window's side: a checked frame (threadFrameSchema) told to `sink`. */
export function applyThreadFrame(frame: ThreadFrame, sink: ThreadSink): void {
  const message = (m: Infer<typeof threadMessageSchema>): TimelineMessage => ({ kind: 'message', ...m });
  switch (frame.type) {
    case 'threads/message':
      return sink.message(frame.key, frame.title, message(frame.message));
    case 'threads/updated':
      return sink.updated(frame.key, message(frame.message));
    case 'threads/forget':
      return sink.forget(frame.key);
    case 'threads/clear':
      return sink.clear();
  }
}
