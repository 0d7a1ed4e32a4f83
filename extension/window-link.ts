// Windows on one machine share one session: the window holding the data folder's lock
// (peer/folder-lock.ts) runs the engine, and every other VS Code window attaches to it over the
// lock's local socket. What crosses the socket is the view protocol (protocol/view.ts): an
// attached window's webview messages go to the holder's controller as if its own view had sent
// them, and the holder's posts (snapshots, events) come back to every attached view; a window that
// asks gets the code threads' frames too (protocol/window-threads.ts), so it shows them in its own
// workspace. Frames are the wire's 4-byte length plus JSON (protocol/frame.ts), bounded both ways;
// what is read is checked (another local process of this user could connect).

import type { Socket } from 'node:net';
import { ProtocolError } from '../protocol/errors.ts';
import { encodeFrame, FrameDecoder } from '../protocol/frame.ts';
import { applyThreadFrame, ThreadRelay } from './code-thread-link.ts';
import type { ThreadSink } from './message-updates.ts';
import type { Attention } from './attention.ts';
import { invalidRequestAnswer, windowToHostSchema, type HostToView, type HostToViewType, type ViewSnapshot, type ViewToHost, type WindowToHost } from '../protocol/view.ts';
import { isThreadFrameType, isThreadSubscribe, threadFrameSchema, THREADS_SUBSCRIBE, type ThreadFrame } from '../protocol/window-threads.ts';

/** A frame from an attached window (a view message: a message's text and a snippet's code, 64 KiB each, escaped). */
export const WINDOW_TO_HOST_LIMIT = 1024 * 1024;
/** A frame from the holder (a snapshot holds the open conversation's newest page). */
export const HOST_TO_WINDOW_LIMIT = 32 * 1024 * 1024;
/** An attached window that does not read what it is sent is dropped past this (it attaches again). */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;
/** Attached windows served at once (the lock bounds its connections too). */
const MAX_WINDOWS = 64;
/** A window's thread feed waits for its socket to drain past this many unsent bytes (it is never dropped for them). */
const THREAD_FEED_PACE_BYTES = 4 * 1024 * 1024;

/** One attached window's code threads (code-thread-link.ts), as the holder feeds them. */
export interface WindowThreads extends ThreadSink {
  /** Undefined while the window reads what it is sent; else resolves once it has (or is gone). */
  drained(): Promise<void> | undefined;
}

/** What the holder's side needs of the controller and the view. */
export interface HubHooks {
  /** Carries out a view message; `reply` gets its answer (request/completed or notice/shown). */
  fromView(message: Exclude<ViewToHost | WindowToHost, { type: 'view/ready' } | { type: 'window/visible' } | { type: 'window/focused' } | { type: 'view/atNewest' }>, reply: (m: HostToView) => void): void;
  snapshot(): ViewSnapshot;
  /** An attached window's view was shown or hidden, its window focused or not, or its view scrolled to or from the newest (read marks count it as the holder's own). */
  attentionChanged(): void;
  /** An attached window asked for its code threads: what they should hold now goes to `threads` (to that window alone). */
  threadsWanted?(threads: WindowThreads): void;
}

interface Attached {
  socket: Socket;
  /** Its view said view/ready and has had its snapshot: posts reach it from then on. */
  ready: boolean;
  /** What it said of its view and its window (none of it until it says so). */
  attention: Attention;
  /** It asked for the thread frames: they reach it from then on. */
  threads: boolean;
}

/** The holder's side: serves the windows attached to its lock. */
export class WindowHub {
  private readonly windows = new Set<Attached>();

  constructor(private readonly hooks: HubHooks) {}

  get count(): number {
    return this.windows.size;
  }

  /** The chat views of the attached windows that are ready, as their users may see them. */
  attention(): Attention[] {
    return [...this.windows].filter((w) => w.ready).map((w) => ({ ...w.attention }));
  }

  /** Takes an attach connection from the lock (paused, as FolderLock hands it over). */
  accept(socket: Socket): void {
    if (this.windows.size >= MAX_WINDOWS) {
      socket.destroy();
      return;
    }
    const w: Attached = { socket, ready: false, attention: { visible: false, focused: false }, threads: false };
    this.windows.add(w);
    const decoder = new FrameDecoder(WINDOW_TO_HOST_LIMIT);
    socket.on('data', (chunk: Buffer) => {
      let values: unknown[];
      try {
        values = decoder.push(chunk);
      } catch (err) {
        if ((err as ProtocolError).code === 'request.invalid') return; // one bad frame, consumed whole
        socket.destroy();
        return;
      }
      for (const raw of values) this.receive(w, raw);
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.windows.delete(w);
      if (w.attention.visible) this.hooks.attentionChanged();
    });
    socket.resume();
  }

  /** A post of the holder's view, to every attached view that is ready. */
  broadcast(message: HostToView): void {
    for (const w of this.windows) if (w.ready) this.send(w, message);
  }

  /**
   * What the holder's code threads are told, to every window that asked for its threads. Not paced
   * (the holder's own threads are fed alongside): a window too far behind is dropped as for any
   * post, attaches again and gets its own paced feed.
   */
  broadcastThreads(frame: ThreadFrame): void {
    for (const w of this.windows) if (w.threads) this.send(w, frame);
  }

  /** Ends every attached connection (they take over or attach again). */
  close(): void {
    for (const w of this.windows) w.socket.destroy();
    this.windows.clear();
  }

  private receive(w: Attached, raw: unknown): void {
    if (isThreadSubscribe(raw)) {
      if (w.threads) return;
      w.threads = true;
      const relay = new ThreadRelay((frame) => this.send(w, frame));
      this.hooks.threadsWanted?.(Object.assign(relay, { drained: () => this.drained(w) }));
      return;
    }
    let message: WindowToHost;
    try {
      message = windowToHostSchema.parse(raw);
    } catch (err) {
      const answer = invalidRequestAnswer(raw, `another window sent a malformed request: ${(err as Error).message}`);
      if (answer) this.send(w, answer);
      return;
    }
    if (message.type === 'window/visible' || message.type === 'window/focused' || message.type === 'view/atNewest') {
      this.attend(w, message);
      return;
    }
    if (message.type === 'view/ready') {
      w.ready = true;
      // A view (re)loaded: it shows nothing yet until it says what it is scrolled to.
      delete w.attention.atNewest;
      this.send(w, { type: 'host/snapshot', snapshot: this.hooks.snapshot() });
      return;
    }
    this.hooks.fromView(message, (m) => this.send(w, m));
  }

  /** What window `w` said of its view or its focus, kept; the holder is told when it changed. */
  private attend(w: Attached, message: Extract<WindowToHost, { type: 'window/visible' | 'window/focused' | 'view/atNewest' }>): void {
    const a = w.attention;
    const before = { ...a };
    if (message.type === 'window/visible') a.visible = message.visible;
    else if (message.type === 'window/focused') a.focused = message.focused;
    else if (message.atNewest) a.atNewest = message.key;
    // Scrolled away: from what it showed at its newest (a late "not" for another conversation changes nothing).
    else if (a.atNewest === message.key) delete a.atNewest;
    if (a.visible !== before.visible || a.focused !== before.focused || a.atNewest !== before.atNewest) this.hooks.attentionChanged();
  }

  /** Undefined while `w` keeps up; else resolves when its socket drained or closed. */
  private drained(w: Attached): Promise<void> | undefined {
    if (w.socket.destroyed || w.socket.writableLength <= THREAD_FEED_PACE_BYTES) return undefined;
    return new Promise<void>((resolve) => {
      const done = () => {
        w.socket.off('drain', done);
        w.socket.off('close', done);
        resolve();
      };
      w.socket.on('drain', done);
      w.socket.on('close', done);
    });
  }

  private send(w: Attached, message: HostToView | ThreadFrame): void {
    if (w.socket.destroyed) return;
    let frame: Buffer;
    try {
      frame = encodeFrame(message, HOST_TO_WINDOW_LIMIT);
    } catch {
      // Too large to send: the window would miss it, so it starts over (attaches again, gets a snapshot).
      w.socket.destroy();
      return;
    }
    if (w.socket.writableLength > MAX_BUFFERED_BYTES) {
      w.socket.destroy();
      return;
    }
    w.socket.write(frame);
  }
}

/** Every post the holder may send, by type (anything else from the socket is dropped). */
const HOST_TO_VIEW_TYPES: ReadonlySet<HostToViewType> = new Set<HostToViewType>([
  'host/snapshot',
  'session/changed',
  'rooms/changed',
  'directory/changed',
  'people/changed',
  'conversation/opened',
  'timeline/added',
  'message/delivered',
  'message/waiting',
  'message/expired',
  'gaps/changed',
  'members/changed',
  'typing/changed',
  'message/updated',
  'reads/changed',
  'message/revealed',
  'request/completed',
  'notice/shown',
]);

/**
 * Whether `raw` has the shape of a holder's post: an object of a known type, with the fields this
 * window reads itself (extension/window-mirror.ts) of the right kind. The webview checks the rest as
 * it renders (it never builds HTML from text).
 */
export function isHostPost(raw: unknown): raw is HostToView {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return false;
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string' || !HOST_TO_VIEW_TYPES.has(type as HostToViewType)) return false;
  const m = raw as Record<string, unknown>;
  switch (type) {
    case 'host/snapshot': {
      const s = m.snapshot as Record<string, unknown> | null;
      return typeof s === 'object' && s !== null && isSession(s.session) && isRoomList(s.rooms) && Array.isArray(s.directory) && Array.isArray(s.people) && (s.open === undefined || isOpened(s.open));
    }
    case 'session/changed':
      return isSession(m.session);
    case 'rooms/changed':
      return isRoomList(m.rooms);
    case 'conversation/opened':
      return isOpened(m) && (m.reveal === undefined || typeof m.reveal === 'string');
    case 'request/completed':
      return typeof m.requestId === 'number' && typeof m.ok === 'boolean';
    default:
      return true;
  }
}

function isSession(v: unknown): boolean {
  const s = v as Record<string, unknown> | null;
  return typeof s === 'object' && s !== null && typeof s.state === 'string' && typeof s.tracker === 'string' && typeof s.detail === 'string' && (s.user === undefined || typeof s.user === 'string');
}

function isRoomList(v: unknown): boolean {
  return Array.isArray(v) && v.every((r) => typeof r === 'object' && r !== null && typeof r.key === 'string' && typeof r.title === 'string' && Number.isSafeInteger(r.unread) && r.unread >= 0);
}

function isOpened(v: unknown): boolean {
  const o = v as Record<string, unknown> | null;
  return typeof o === 'object' && o !== null && typeof o.key === 'string' && typeof o.title === 'string' && Array.isArray(o.timeline) && Array.isArray(o.members) && Array.isArray(o.typing);
}

export interface LinkHooks {
  /** A post of the holder, for this window's view. */
  post(message: HostToView): void;
  /** Where the holder's thread frames go, checked (subscribeThreads() asks for them). */
  threads?: ThreadSink;
  /** The holder left (released the lock or died): take over or attach again. */
  closed(): void;
}

/** An attached window's side: its view's messages go to the holder, the holder's posts come back. */
export class HolderLink {
  /** Requests forwarded and not answered yet: failed in words if the holder leaves first. */
  private readonly pending = new Set<number>();
  private closedFlag = false;

  constructor(
    private readonly socket: Socket,
    private readonly hooks: LinkHooks,
  ) {
    const decoder = new FrameDecoder(HOST_TO_WINDOW_LIMIT);
    socket.on('data', (chunk: Buffer) => {
      let values: unknown[];
      try {
        values = decoder.push(chunk);
      } catch (err) {
        if ((err as ProtocolError).code === 'request.invalid') return;
        socket.destroy();
        return;
      }
      for (const raw of values) {
        if (isThreadFrameType(raw)) {
          this.threadFrame(raw);
          continue;
        }
        if (!isHostPost(raw)) continue;
        if (raw.type === 'request/completed') this.pending.delete(raw.requestId);
        hooks.post(raw);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => this.onClose());
    socket.resume();
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  send(message: WindowToHost): void {
    if (this.closedFlag) {
      this.failRequest(message);
      return;
    }
    if ('requestId' in message) this.pending.add(message.requestId);
    try {
      this.socket.write(encodeFrame(message, WINDOW_TO_HOST_LIMIT));
    } catch (err) {
      this.pending.delete((message as { requestId?: number }).requestId ?? 0);
      if ('requestId' in message) this.hooks.post({ type: 'request/completed', requestId: message.requestId, ok: false, error: { message: (err as Error).message } });
    }
  }

  /** Asks the holder for its code threads' frames (once; they go to hooks.threads). */
  subscribeThreads(): void {
    if (this.closedFlag) return;
    this.socket.write(encodeFrame({ type: THREADS_SUBSCRIBE }, WINDOW_TO_HOST_LIMIT));
  }

  close(): void {
    this.socket.destroy();
  }

  private threadFrame(raw: unknown): void {
    if (!this.hooks.threads) return;
    let frame: ThreadFrame;
    try {
      frame = threadFrameSchema.parse(raw);
    } catch (err) {
      // Not the holder's (it sends only messages its store checked): dropped, and said where the extension host logs.
      console.warn(`P2P Chat: a code-thread frame from the window running the chat was refused: ${(err as Error).message}`);
      return;
    }
    applyThreadFrame(frame, this.hooks.threads);
  }

  private failRequest(message: WindowToHost): void {
    if ('requestId' in message) this.hooks.post({ type: 'request/completed', requestId: message.requestId, ok: false, error: { message: LEFT } });
  }

  private onClose(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    for (const requestId of this.pending) this.hooks.post({ type: 'request/completed', requestId, ok: false, error: { message: LEFT } });
    this.pending.clear();
    this.hooks.closed();
  }
}

const LEFT = 'The VS Code window running the chat closed before it answered; try again in a moment.';
