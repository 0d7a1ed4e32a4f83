// The code-thread frames between VS Code windows of one machine (issue 12), beside the view
// messages of protocol/view.ts on the same window link (extension/window-link.ts): an attached
// window asks for them once (`threads/subscribe`), then the window running the engine (the holder)
// sends what its code threads are told, one frame a ThreadSink call (extension/code-thread-link.ts
// builds and applies them). What an attached window reads is checked with threadFrameSchema
// (another local process of this user could answer on the socket); nothing else of a message crosses.

import { emojiSchema, MAX_REACTIONS_PER_MESSAGE, messageIdSchema } from './message-actions.ts';
import { messageBodySchema } from './peer.ts';
import { arr, bool, int, obj, optional, str, variants, type Infer } from './schema.ts';
import { roomKey, VIEW_LIMITS } from './view.ts';

/** What an attached window sends to get the thread frames. */
export const THREADS_SUBSCRIBE = 'threads/subscribe';

/** Members who gave one reaction, as a frame may carry them. */
export const MAX_THREAD_REACTORS = 10_000;

const user = str({ max: VIEW_LIMITS.nameChars });

/** A message as a code thread shows it (extension/code-threads.ts): nothing else crosses. */
export const threadMessageSchema = obj({
  id: messageIdSchema,
  from: user,
  text: messageBodySchema.shape.text,
  sentAt: int(),
  mine: bool(),
  mentionsMe: bool(),
  // The peer wire's own rule: what a peer could send is what a frame may carry.
  snippet: messageBodySchema.shape.snippet,
  replyTo: optional(obj({ id: messageIdSchema })),
  reactions: optional(arr(obj({ emoji: emojiSchema, users: arr(user, { max: MAX_THREAD_REACTORS }), mine: bool() }), { max: MAX_REACTIONS_PER_MESSAGE })),
  edited: optional(bool()),
  deleted: optional(bool()),
});
export type ThreadMessage = Infer<typeof threadMessageSchema>;

/** The frames the holder sends: ThreadSink's calls (extension/message-updates.ts), one each. */
export const threadFrameSchema = variants('type', {
  'threads/message': obj({ key: roomKey, title: str({ max: 200 }), message: threadMessageSchema }),
  'threads/updated': obj({ key: roomKey, message: threadMessageSchema }),
  'threads/forget': obj({ key: roomKey }),
  'threads/clear': obj({}),
});
export type ThreadFrame = Infer<typeof threadFrameSchema>;

const FRAME_TYPES: ReadonlySet<string> = new Set<ThreadFrame['type']>(['threads/message', 'threads/updated', 'threads/forget', 'threads/clear']);

/** Whether `raw` claims to be a thread frame (then it is parsed as one, and nothing else). */
export function isThreadFrameType(raw: unknown): boolean {
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  return typeof type === 'string' && FRAME_TYPES.has(type);
}

/** Whether `raw` is an attached window's `threads/subscribe`. */
export function isThreadSubscribe(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) && (raw as { type?: unknown }).type === THREADS_SUBSCRIBE;
}
