// What a LAN sniffer would see, and what a hostile peer can send (DESIGN.md "Peer links",
// "End-to-end encryption", "What the original got wrong": the original sent passwords and
// textbook-RSA messages in clear). A recording TCP proxy sits between an engine and the tracker
// (TLS passes through untouched, so the pinned fingerprint is the real one) or in front of a
// peer's link port (the engine advertises the proxy's port with `advertisePort`). The scanning
// helpers look for secrets in the recorded bytes as they are and in every base64/base64url run
// decoded. The raw-link helpers act as a user's own client (their real keys, from their data
// folder) to put hand-made frames into an engine.

import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import { once } from 'node:events';
import * as net from 'node:net';
import { fromBase64Url, importPrivateKey } from '../../protocol/crypto.ts';
import type { Envelope, SessionBundle } from '../../protocol/peer.ts';
import { eventHash, type RoomHead } from '../../protocol/room-log.ts';
import { FrameReader, resolveOptions, runInitiator, type LinkOptions } from '../../peer/link-handshake.ts';
import { PeerLink, connectLink } from '../../peer/link.ts';
import type { ChatEngine } from '../../peer/engine.ts';
import { encryptMessage, makeBundle, sealBody, newOutboundSession, type OutboundSession } from '../../peer/sender-keys.ts';

export interface Teardown {
  after(fn: () => unknown): void;
}

export interface Address {
  host: string;
  port: number;
}

/** One proxied TCP connection: `up` is what the client sent, `down` what the server answered. */
export interface ProxiedConnection {
  up: Buffer[];
  down: Buffer[];
}

export interface RecordingProxy extends Address {
  readonly connections: readonly ProxiedConnection[];
  /** Every connection's bytes, one buffer per direction, in the order they were sent. */
  streams(): Buffer[];
  /** Total bytes recorded, both directions. */
  bytes(): number;
  close(): Promise<void>;
}

/** A port that was free a moment ago (for an engine that must listen where a proxy points). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const probe = net.createServer();
  probe.listen(0, host);
  await once(probe, 'listening');
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * Listens on 127.0.0.1 (port 0) and forwards each connection to `target`, recording both
 * directions. Closing it (in teardown) stops listening and cuts every proxied connection. With
 * `vanish`, a client's end or close is not passed on: the server's side stays open.
 */
export async function startRecordingProxy(t: Teardown, target: Address, opts: { vanish?: boolean } = {}): Promise<RecordingProxy> {
  const connections: ProxiedConnection[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const record: ProxiedConnection = { up: [], down: [] };
    connections.push(record);
    const upstream = net.connect(target);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.once('close', () => sockets.delete(s));
      s.setNoDelay(true);
    }
    client.on('data', (chunk: Buffer) => record.up.push(Buffer.from(chunk)));
    upstream.on('data', (chunk: Buffer) => record.down.push(Buffer.from(chunk)));
    // `vanish`: a client that goes away leaves the server's side open, as a machine that lost
    // power or its network does (the server notices only when its own timeout fires).
    client.pipe(upstream, { end: !opts.vanish });
    upstream.pipe(client);
    // A reset on either side resets the other; a clean end is passed on by pipe().
    client.on('error', () => opts.vanish || upstream.destroy());
    upstream.on('error', () => client.destroy());
    if (!opts.vanish) client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
    return closed;
  };
  t.after(close);
  return {
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
    connections,
    streams: () => connections.flatMap((c) => [Buffer.concat(c.up), Buffer.concat(c.down)]),
    bytes: () => connections.reduce((n, c) => n + c.up.reduce((a, b) => a + b.length, 0) + c.down.reduce((a, b) => a + b.length, 0), 0),
    close,
  };
}

// ---- looking for secrets -----------------------------------------------------------------------

const RUN = /[A-Za-z0-9+/_-]{8,}={0,2}/g;

/**
 * Every run of base64 or base64url characters in `data`, decoded (at each of the four
 * alignments, since a run found in arbitrary bytes need not start on a group), and again inside
 * what that decoded to, `depth` levels deep: base64url inside JSON inside base64url is how a
 * sealed frame carries an envelope.
 */
export function decodedRuns(data: Buffer, depth = 2): Buffer[] {
  const out: Buffer[] = [];
  let level = [data];
  for (let d = 0; d < depth; d++) {
    const next: Buffer[] = [];
    for (const buf of level) {
      for (const [run] of buf.toString('latin1').matchAll(RUN)) {
        for (let skip = 0; skip < 4 && run.length - skip >= 8; skip++) {
          const part = run.slice(skip);
          const decoded = Buffer.from(part, /[+/=]/.test(part) ? 'base64' : 'base64url');
          if (decoded.length) next.push(decoded);
        }
      }
    }
    out.push(...next);
    level = next;
  }
  return out;
}

export interface Secret {
  name: string;
  bytes: Buffer;
}

/** A secret as raw bytes and in the text encodings a careless client might put on the wire. */
function spellings(s: Secret): Buffer[] {
  const b = s.bytes;
  return [b, b.toString('base64url'), b.toString('base64'), b.toString('hex'), b.toString('hex').toUpperCase()]
    .map((v) => (typeof v === 'string' ? Buffer.from(v, 'latin1') : v))
    .filter((v, i, all) => v.length >= 8 && all.findIndex((w) => w.equals(v)) === i);
}

/** Names of the secrets that occur in any of `haystacks` (each also scanned decoded, see decodedRuns). */
export function findSecrets(haystacks: Buffer[], secrets: Secret[]): string[] {
  const all = haystacks.flatMap((h) => [h, ...decodedRuns(h)]);
  return secrets.filter((s) => spellings(s).some((needle) => all.some((h) => h.includes(needle)))).map((s) => s.name);
}

// ---- a user's own client, by hand ---------------------------------------------------------------

export interface AccountKeys {
  user: string;
  signingKey: KeyObject;
  encryptionKey: KeyObject;
  signingPublic: KeyObject;
  encryptionPublic: KeyObject;
}

/** The private keys an engine saved in its data folder at login (as the user's own machine holds them). */
export function savedKeys(engine: ChatEngine, user: string): AccountKeys {
  const saved = engine.data.account(user);
  if (!saved) throw new Error(`no saved account for ${user} in ${engine.data.root}`);
  const signingKey = importPrivateKey(fromBase64Url(saved.signingKey));
  const encryptionKey = importPrivateKey(fromBase64Url(saved.encryptionKey));
  return { user, signingKey, encryptionKey, signingPublic: createPublicKey(signingKey), encryptionPublic: createPublicKey(encryptionKey) };
}

/** A link to `engine`'s peer port as `me`, closed in teardown. */
export async function linkTo(t: Teardown, engine: ChatEngine, me: AccountKeys, remote: AccountKeys, opts: LinkOptions = {}): Promise<PeerLink> {
  const link = await connectLink({
    host: '127.0.0.1', port: engine.peerPort, me: { user: me.user, signingKey: me.signingKey },
    remoteUser: remote.user, pinnedKey: async () => remote.signingPublic, ...opts,
  });
  t.after(() => link.close());
  return link;
}

/**
 * A finished handshake whose socket is left paused: nothing after the key confirmation is read
 * until `open()` makes the PeerLink (which then gets whatever the kernel still holds).
 */
export async function stalledLinkTo(t: Teardown, engine: ChatEngine, me: AccountKeys, remote: AccountKeys, device?: string): Promise<{ socket: net.Socket; open(): PeerLink }> {
  const socket = net.connect({ host: '127.0.0.1', port: engine.peerPort });
  t.after(() => socket.destroy());
  await once(socket, 'connect');
  const reader = new FrameReader(socket, remote.user);
  const session = await runInitiator(reader, { user: me.user, signingKey: me.signingKey, ...(device ? { device } : {}) }, remote.user, remote.signingPublic);
  socket.pause();
  return { socket, open: () => new PeerLink(reader, session, resolveOptions({})) };
}

/** The head of `room` as `engine` holds it (its saved state, flushed first). */
export function savedHead(engine: ChatEngine, room: string): RoomHead {
  engine.data.flush();
  const last = engine.data.loadState(engine.user!).rooms.get(room)!.events.at(-1)!;
  return { seq: last.seq, hash: eventHash(last) };
}

/**
 * One sender session of `me`'s, made by hand (created at `created`): its bundle for `to`, and
 * envelopes in it, each signed with the time given (now by default).
 */
export class HandSession {
  readonly session: OutboundSession;
  readonly bundle: SessionBundle;
  constructor(readonly me: AccountKeys, room: string, head: RoomHead, to: AccountKeys[], created = Date.now()) {
    this.session = newOutboundSession(room, head, created);
    this.bundle = makeBundle(this.session, me.user, me.signingKey, to.map((r) => ({ user: r.user, encryptionKey: r.encryptionPublic })));
  }

  /** The next message; `id` given: a modified client's, sealed under that id instead of its own (receivers refuse it). */
  envelope(text: string, time = Date.now(), id?: string): Envelope {
    if (id !== undefined) return sealBody(this.session, this.me.user, this.me.signingKey, { id, time, text });
    return encryptMessage(this.session, this.me.user, this.me.signingKey, { time, text });
  }
}
