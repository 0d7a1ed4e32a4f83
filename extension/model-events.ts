// Small helpers of extension/chat-model.ts and its parts: engine subscriptions, timeline notices,
// errors in words.

import type { ClientEvents } from '../protocol/client.ts';
import type { TimelineItem } from '../protocol/view.ts';
import type { ChatEngine } from '../peer/engine.ts';

/** Subscribes `fn` to the engine's `name` events; returns the unsubscribe. */
export function listen<K extends keyof ClientEvents>(engine: ChatEngine, name: K, fn: (e: ClientEvents[K]) => void): () => void {
  // Node's EventEmitter<T> types listeners through a conditional type that TypeScript cannot
  // resolve for a generic K; the call sites are checked against ClientEvents instead.
  const listener = fn as never;
  engine.on(name, listener);
  return () => void engine.off(name, listener);
}

/** A notice of the timeline (a join, a key change), timed now. */
export function notice(text: string, level: 'info' | 'warning'): TimelineItem {
  const time = Date.now();
  return { kind: 'notice', id: `n-${time}-${Math.random().toString(36).slice(2, 8)}`, time, text, level };
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The ProtocolError code of `err`, when it has one, to spread into a notice or request error. */
export function codeOf(err: unknown): { code?: string } {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' ? { code } : {};
}
