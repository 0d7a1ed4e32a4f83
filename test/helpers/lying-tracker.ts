// A lying tracker for tests (DESIGN.md "Tracker": trusted to be available, never to be honest).
// It is a TLS man-in-the-middle that IS the tracker from the clients' point of view: its own
// self-signed certificate (clients pin it on first use, as they would a real tracker's), and for
// each client connection one connection to a real `node tracker` process, relaying frames both
// ways. Everything honest therefore just works; the lies are scripted on top, per user (the user
// is read from the connection's login or resume answer):
//
//   - `show(users, event)`: those users' view of a room has `event` at its seq, pushed to them now
//     as a `room_event` (unless `push: false`) and served in every later `room_log` answer; a real
//     event at that seq is replaced by it (a fork, when others see the real one).
//   - `hide(users, room, seq)`: those users never hear of the room's events from `seq` on: their
//     `room_event`s are dropped and their `room_log` answers cut before it (a withheld kick).
//   - `toClient(fn)` / `toTracker(fn)`: any other rewrite, drop or addition of frames.
//   - `inject(user, frame)`, `disconnect(user)`.
//
// The real log (as the real tracker tells it) is kept in `log(room)` / `head(room)`, so a test
// can sign an event that continues it with a key the tracker "knows" (a colluding user's).

import { EventEmitter, once } from 'node:events';
import type { KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { fingerprint as fingerprintOf, fromBase64Url, importPrivateKey, randomBytes, toBase64Url } from '../../protocol/crypto.ts';
import { FrameDecoder, TRACKER_RESPONSE_LIMIT, encodeFrame } from '../../protocol/frame.ts';
import { eventHash, signRoomEvent, type RoomEvent, type RoomEventType, type RoomHead } from '../../protocol/room-log.ts';
import type { RoomSummary } from '../../protocol/tracker.ts';
import { normalizeFingerprint } from '../../protocol/crypto.ts';
import type { ChatEngine } from '../../peer/engine.ts';
import type { Teardown } from './tracker-process.ts';

export type Frame = Record<string, unknown>;

export interface RelayContext {
  /** The user logged in on this connection (from its login or resume answer), once known. */
  readonly user: string | undefined;
  /** Which client connection of the lying tracker (1, 2, ...). */
  readonly conn: number;
  /** For a response: the request it answers, as the client sent it. */
  readonly request?: Frame;
  /** Answers the client directly (for a `toTracker` rewrite that keeps a request from the tracker). */
  reply(frame: Frame): void;
}

/** Returns the frame (changed or not) to pass it on, several to send several, or null to drop it. */
export type Rewrite = (frame: Frame, ctx: RelayContext) => Frame | Frame[] | null;

export interface TraceEntry {
  dir: 'to-client' | 'to-tracker' | 'injected' | 'dropped';
  user: string | undefined;
  conn: number;
  what: string;
}

interface View {
  /** seq -> the event this user is shown there instead of (or beyond) the real one. */
  overrides: Map<number, RoomEvent>;
  /** The real events from this seq on are withheld. */
  hideFrom?: number;
}

interface ClientConn {
  n: number;
  user?: string;
  client: tls.TLSSocket;
  upstream: tls.TLSSocket;
  /** id -> request, for matching responses. */
  requests: Map<number, Frame>;
}

type LieEvents = {
  /** A frame the lies kept from a client (a hidden room_event). */
  dropped: [TraceEntry & { frame: Frame }];
  /** A client connection logged in (or resumed) as `user`. */
  login: [user: string, conn: number];
};

export interface RealTracker {
  host: string;
  port: number;
  fingerprint: string;
}

export class LyingTracker extends EventEmitter<LieEvents> {
  host = '127.0.0.1';
  port = 0;
  /** This tracker's own certificate fingerprint (what the clients pin). */
  fingerprint = '';
  /** Every frame relayed, injected or dropped, in order: for failure reports. */
  readonly trace: TraceEntry[] = [];

  private server?: tls.Server;
  private readonly conns = new Set<ClientConn>();
  private nextConn = 1;
  private readonly toClientRewrites: Rewrite[] = [];
  private readonly toTrackerRewrites: Rewrite[] = [];
  /** The real log of each room, seq -> event, as the real tracker told it. */
  private readonly truth = new Map<string, Map<number, RoomEvent>>();
  private readonly summaries = new Map<string, RoomSummary>();
  /** user -> room -> what that user is shown. */
  private readonly views = new Map<string, Map<string, View>>();

  constructor(private readonly real: RealTracker) {
    super();
  }

  async listen(): Promise<void> {
    const selfsigned = await import('selfsigned');
    const now = Date.now();
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'p2p-chat lying tracker' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      notBeforeDate: new Date(now - 60_000),
      notAfterDate: new Date(now + 24 * 3600 * 1000),
    });
    this.server = tls.createServer({ cert: pems.cert, key: pems.private }, (socket) => this.accept(socket));
    this.server.on('tlsClientError', () => {});
    this.server.listen(0, this.host);
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
    this.fingerprint = fingerprintOf(new (await import('node:crypto')).X509Certificate(pems.cert).raw);
  }

  async close(): Promise<void> {
    for (const c of this.conns) {
      c.client.destroy();
      c.upstream.destroy();
    }
    this.conns.clear();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // ---- the lies --------------------------------------------------------------------------------

  /** Adds a rewrite of frames going to clients (after the view lies); returns its removal. */
  toClient(fn: Rewrite): () => void {
    this.toClientRewrites.push(fn);
    return () => this.toClientRewrites.splice(this.toClientRewrites.indexOf(fn), 1);
  }

  /** Adds a rewrite of frames going to the real tracker; returns its removal. */
  toTracker(fn: Rewrite): () => void {
    this.toTrackerRewrites.push(fn);
    return () => this.toTrackerRewrites.splice(this.toTrackerRewrites.indexOf(fn), 1);
  }

  /**
   * From now on `users` are shown `event` at its seq of its room: pushed now as a room_event (unless
   * `push` is false), served in room_log answers, and put in place of the real event at that seq
   * when the real tracker pushes one. Returns how many connections it was pushed to.
   */
  show(users: string[], event: RoomEvent, opts: { push?: boolean } = {}): number {
    let pushed = 0;
    for (const user of users) {
      this.view(user, event.room).overrides.set(event.seq, event);
      if (opts.push === false) continue;
      const summary = this.summaries.get(event.room);
      if (!summary) throw new Error(`the lying tracker has seen no summary of room ${event.room}`);
      pushed += this.inject(user, { event: 'room_event', room: { ...summary, head: { seq: event.seq, hash: eventHash(event) }, member: true }, entry: event });
    }
    return pushed;
  }

  /** From now on `users` hear nothing of `room`'s real events from `seq` on. */
  hide(users: string[], room: string, seq: number): void {
    for (const user of users) {
      const view = this.view(user, room);
      view.hideFrom = Math.min(view.hideFrom ?? Infinity, seq);
    }
  }

  /** Rewrites every room summary sent to clients (room lists, login answers, room events). */
  rewriteSummaries(fn: (summary: RoomSummary, user: string | undefined) => RoomSummary): () => void {
    return this.toClient((frame, ctx) => {
      const one = (s: unknown) => fn(s as RoomSummary, ctx.user);
      const out: Frame = { ...frame };
      if (out.room && typeof out.room === 'object') out.room = one(out.room);
      if (Array.isArray(out.rooms)) out.rooms = out.rooms.map(one);
      return out;
    });
  }

  /** Sends a frame to every connection logged in as `user`; returns how many. */
  inject(user: string, frame: Frame): number {
    let n = 0;
    for (const c of this.conns) {
      if (c.user !== user || c.client.destroyed) continue;
      this.record('injected', c, frame);
      c.client.write(encodeFrame(frame, TRACKER_RESPONSE_LIMIT));
      n++;
    }
    return n;
  }

  /** Cuts every connection of `user` (the client sees a network blip and resumes). */
  disconnect(user: string): number {
    let n = 0;
    for (const c of this.conns) {
      if (c.user !== user) continue;
      c.client.destroy();
      c.upstream.destroy();
      n++;
    }
    return n;
  }

  // ---- what the real tracker said --------------------------------------------------------------

  /** The real log of a room as far as the real tracker told any client through here. */
  log(room: string): RoomEvent[] {
    const events = this.truth.get(room);
    if (!events) return [];
    const out: RoomEvent[] = [];
    for (let seq = 0; events.has(seq); seq++) out.push(events.get(seq)!);
    return out;
  }

  /** The real head of a room. */
  head(room: string): RoomHead {
    const log = this.log(room);
    if (!log.length) throw new Error(`the lying tracker has not seen the log of room ${room}`);
    const last = log[log.length - 1];
    if ((this.truth.get(room)?.size ?? 0) !== log.length) throw new Error(`the lying tracker holds a log of room ${room} with gaps`);
    return { seq: last.seq, hash: eventHash(last) };
  }

  summary(room: string): RoomSummary | undefined {
    return this.summaries.get(room);
  }

  /** The trace as lines, for a failure message or a bug report. */
  traceText(filter: (e: TraceEntry) => boolean = () => true): string {
    return this.trace.filter(filter).map((e) => `${e.dir.padEnd(10)} #${e.conn} ${(e.user ?? '?').padEnd(8)} ${e.what}`).join('\n');
  }

  // ---- relaying --------------------------------------------------------------------------------

  private view(user: string, room: string): View {
    let rooms = this.views.get(user);
    if (!rooms) this.views.set(user, (rooms = new Map()));
    let view = rooms.get(room);
    if (!view) rooms.set(room, (view = { overrides: new Map() }));
    return view;
  }

  private accept(client: tls.TLSSocket): void {
    const upstream = tls.connect({ host: this.real.host, port: this.real.port, rejectUnauthorized: false });
    const c: ClientConn = { n: this.nextConn++, client, upstream, requests: new Map() };
    this.conns.add(c);
    upstream.once('secureConnect', () => {
      const raw = upstream.getPeerCertificate()?.raw;
      if (!raw || normalizeFingerprint(fingerprintOf(raw)) !== normalizeFingerprint(this.real.fingerprint)) upstream.destroy();
    });
    const end = () => {
      this.conns.delete(c);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);

    const fromClient = new FrameDecoder(TRACKER_RESPONSE_LIMIT);
    client.on('data', (chunk: Buffer) => {
      let frames: unknown[];
      try {
        frames = fromClient.push(chunk);
      } catch {
        return end();
      }
      for (const frame of frames) this.relayToTracker(c, frame as Frame);
    });
    const fromTracker = new FrameDecoder(TRACKER_RESPONSE_LIMIT);
    upstream.on('data', (chunk: Buffer) => {
      let frames: unknown[];
      try {
        frames = fromTracker.push(chunk);
      } catch {
        return end();
      }
      for (const frame of frames) this.relayToClient(c, frame as Frame);
    });
  }

  private context(c: ClientConn, request?: Frame): RelayContext {
    return {
      user: c.user,
      conn: c.n,
      ...(request ? { request } : {}),
      reply: (frame) => {
        this.record('injected', c, frame);
        if (!c.client.destroyed) c.client.write(encodeFrame(frame, TRACKER_RESPONSE_LIMIT));
      },
    };
  }

  private relayToTracker(c: ClientConn, frame: Frame): void {
    let out: Frame[] = [frame];
    for (const fn of this.toTrackerRewrites) out = out.flatMap((f) => asList(fn(f, this.context(c))));
    for (const f of out) {
      if (typeof f.id === 'number') c.requests.set(f.id, f);
      this.record('to-tracker', c, f);
      if (!c.upstream.destroyed) c.upstream.write(encodeFrame(f, TRACKER_RESPONSE_LIMIT));
    }
  }

  private relayToClient(c: ClientConn, frame: Frame): void {
    let request: Frame | undefined;
    if ('ok' in frame && typeof frame.id === 'number') {
      request = c.requests.get(frame.id);
      c.requests.delete(frame.id);
    }
    this.learn(c, frame, request);
    const ctx = this.context(c, request);
    let out: Frame[] = asList(this.viewLies(frame, ctx));
    if (!out.length) {
      const entry = { dir: 'dropped' as const, user: c.user, conn: c.n, what: describe(frame) };
      this.trace.push(entry);
      if (process.env.P2P_DEBUG) console.error('[lie]', entry.dir, entry.user, entry.what);
      this.emit('dropped', { ...entry, frame });
    }
    for (const fn of this.toClientRewrites) out = out.flatMap((f) => asList(fn(f, ctx)));
    for (const f of out) {
      this.record('to-client', c, f);
      if (!c.client.destroyed) c.client.write(encodeFrame(f, TRACKER_RESPONSE_LIMIT));
    }
  }

  /** Remembers the truth: who this connection is, the real room logs and summaries. */
  private learn(c: ClientConn, frame: Frame, request: Frame | undefined): void {
    const keep = (s: unknown) => {
      const summary = s as RoomSummary;
      if (summary && typeof summary.id === 'string') this.summaries.set(summary.id, summary);
    };
    if (request && frame.ok === true) {
      if ((request.type === 'login' || request.type === 'resume') && typeof frame.user === 'string') {
        c.user = frame.user;
        this.emit('login', frame.user, c.n);
      }
      if (request.type === 'create_room' || request.type === 'append') this.remember(request.event as RoomEvent);
      if (request.type === 'room_log') for (const e of frame.events as RoomEvent[]) this.remember(e);
      if (Array.isArray(frame.rooms)) frame.rooms.forEach(keep);
      if (frame.room) keep(frame.room);
    }
    if (frame.event === 'room_event') this.remember(frame.entry as RoomEvent);
    if (frame.event === 'room_event' || frame.event === 'room_listed') keep(frame.room);
  }

  private remember(event: RoomEvent): void {
    const room = event.type === 'create' ? eventHash(event) : event.room;
    let events = this.truth.get(room);
    if (!events) this.truth.set(room, (events = new Map()));
    events.set(event.seq, event);
  }

  /** The per-user room views of `show` and `hide`. */
  private viewLies(frame: Frame, ctx: RelayContext): Frame | null {
    const rooms = ctx.user ? this.views.get(ctx.user) : undefined;
    if (!rooms) return frame;
    if (frame.event === 'room_event') {
      const entry = frame.entry as RoomEvent;
      const view = rooms.get(entry.room);
      if (!view) return frame;
      const instead = view.overrides.get(entry.seq);
      if (instead) return { ...frame, room: { ...(frame.room as RoomSummary), head: { seq: instead.seq, hash: eventHash(instead) } }, entry: instead };
      if (view.hideFrom !== undefined && entry.seq >= view.hideFrom) return null;
      return frame;
    }
    if (ctx.request?.type === 'room_log' && frame.ok === true) {
      const view = rooms.get(ctx.request.room as string);
      if (!view) return frame;
      const from = ctx.request.from as number;
      const bySeq = new Map<number, RoomEvent>();
      for (const e of frame.events as RoomEvent[]) if (view.hideFrom === undefined || e.seq < view.hideFrom) bySeq.set(e.seq, e);
      for (const [seq, e] of view.overrides) if (seq >= from) bySeq.set(seq, e);
      const events: RoomEvent[] = [];
      for (let seq = from; bySeq.has(seq); seq++) events.push(bySeq.get(seq)!);
      const last = events[events.length - 1];
      const room = frame.room as RoomSummary;
      return { ...frame, room: last ? { ...room, head: { seq: last.seq, hash: eventHash(last) } } : room, events };
    }
    return frame;
  }

  private record(dir: TraceEntry['dir'], c: ClientConn, frame: Frame): void {
    const entry = { dir, user: c.user, conn: c.n, what: describe(frame) };
    this.trace.push(entry);
    if (process.env.P2P_DEBUG) console.error('[lie]', entry.dir, entry.user, entry.what);
  }
}

function asList(v: Frame | Frame[] | null): Frame[] {
  return v === null ? [] : Array.isArray(v) ? v : [v];
}

function describe(frame: Frame): string {
  const event = (e: unknown) => {
    const r = e as RoomEvent;
    return `${r.type}#${r.seq} by ${r.actor}${r.subject ? ` of ${r.subject}` : ''}`;
  };
  if (typeof frame.event === 'string') {
    if (frame.event === 'room_event') return `event room_event ${event(frame.entry)}`;
    if (frame.event === 'presence') return `event presence ${frame.user} ${frame.online ? 'online' : 'offline'}`;
    return `event ${frame.event}`;
  }
  if ('ok' in frame) {
    if (frame.ok !== true) return `answer #${frame.id} error ${(frame.error as { code?: string })?.code}`;
    if (Array.isArray(frame.events)) return `answer #${frame.id} ok events [${frame.events.map(event).join(', ')}]`;
    return `answer #${frame.id} ok`;
  }
  const ev = frame.event as unknown;
  return `request #${frame.id} ${frame.type}${ev && typeof ev === 'object' ? ` ${event(ev)}` : ''}${frame.type === 'room_log' ? ` from ${frame.from}` : ''}`;
}

/** Starts a lying tracker in front of a real one; torn down with the test. */
export async function startLyingTracker(t: Teardown, real: RealTracker): Promise<LyingTracker> {
  const lie = new LyingTracker(real);
  t.after(() => lie.close());
  await lie.listen();
  return lie;
}

// ---- forging events ----------------------------------------------------------------------------

/** The signing key of a logged-in test engine, from its data folder (a colluding user's key). */
export function signingKeyOf(engine: ChatEngine): KeyObject {
  const account = engine.user ? engine.data.account(engine.user) : undefined;
  if (!account) throw new Error('the engine is not logged in');
  return importPrivateKey(fromBase64Url(account.signingKey));
}

/** A room event on `head`, signed with `key` (which need not be the actor's). */
export function forgeEvent(
  room: string,
  head: RoomHead,
  fields: { type: RoomEventType; actor: string; subject?: string; proof?: string; time?: number },
  key: KeyObject,
): RoomEvent {
  const { time = Date.now(), ...rest } = fields;
  return signRoomEvent({ v: 1, room, seq: head.seq + 1, prev: head.hash, time, ...rest }, key);
}

/** The same event with a signature of random bytes (the tracker signing for someone it cannot). */
export function withGarbageSignature(event: RoomEvent): RoomEvent {
  return { ...event, sig: toBase64Url(randomBytes(256)) };
}

/** A join proof of random bytes (the tracker does not know the room password). */
export function garbageProof(): string {
  return toBase64Url(randomBytes(32));
}
