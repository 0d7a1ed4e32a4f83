// The opening of a peer link (DESIGN.md "Peer links"): a SIGMA-style authenticated key exchange.
// Each side sends an ephemeral X25519 key and a nonce and signs the transcript (both names and
// roles, both nonces, both ephemeral keys) with its RSA-PSS identity key; each checks the other's
// signature against the key it pinned for that user. Both then derive one AES-256-GCM key per
// direction with HKDF. The ephemeral keys die with the link, so recorded traffic stays unreadable
// even if an identity key leaks later (forward secrecy).
//
//   initiator                                   responder
//   hello {v, from, to, eph, nonce}      ->
//                                        <-     hello_reply {from, to, eph, nonce}
//   hello_finish {sig(initiator)}        ->
//                                        <-     sealed n=0 {t: confirm, sig(responder)}
//
// SIGMA-R order: the initiator signs first, and the responder signs only once the initiator has
// proven who it is. A stranger's hello (or a thousand) costs the responder no RSA signature, and
// the responder's signature travels sealed. The transcript both sign is the same as before (both
// names and roles, both nonces, both keys), so neither signature can be replayed into another
// link or misbound to another pair of users. The sealed `confirm` is also the key confirmation:
// without it the initiator could not tell "accepted" from "refused after hello_finish".

import { ProtocolError, isCoded, type LinkErrorCode } from '../protocol/errors.ts';
import type { KeyObject } from 'node:crypto';
import type { Socket } from 'node:net';
import { canonicalBytes } from '../protocol/canonical.ts';
import {
  LABELS, aesGcmDecrypt, aesGcmEncrypt, fromBase64Url, hkdfSha256, randomBytes, sha256,
  signPss, toBase64Url, verifyPss, x25519Generate, x25519SharedSecret,
} from '../protocol/crypto.ts';
import { FrameDecoder, PEER_FRAME_LIMIT, encodeFrame } from '../protocol/frame.ts';
import { LINK_LIMITS, confirmSchema, handshakeSchema, sealedFrameSchema, type Confirm, type Handshake, type SealedFrame } from '../protocol/peer.ts';

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = LINK_LIMITS.handshakeTimeoutMs;
/** A peer that stops reading is dropped once this much is queued for it, not buffered forever. */
export const DEFAULT_MAX_QUEUE_BYTES = 8 * 1024 * 1024;
/** A graceful close waits this long for the peer to finish its side before destroying. */
export const DEFAULT_CLOSE_GRACE_MS = 1_000;
const NONCE_BYTES = 32;
/** The frame is `{"t":"sealed","n":<up to 16 digits>,"c":"<base64url>"}`: 64 bytes cover the rest. */
const SEALED_FRAME_OVERHEAD = 64;
/** Largest PeerMessage JSON that fits one sealed frame under PEER_FRAME_LIMIT (base64 grows it by 4/3). */
export const MAX_MESSAGE_BYTES = Math.floor(((PEER_FRAME_LIMIT - SEALED_FRAME_OVERHEAD) * 3) / 4) - 16;

export type { LinkErrorCode };
const REMOTE_CODES: ReadonlySet<string> = new Set<LinkErrorCode>([
  'link.refused', 'link.bad_signature', 'link.timeout', 'link.unknown_user', 'link.wrong_user', 'link.protocol', 'link.busy',
]);

/** A link failure: ProtocolError with a `link.*` code. */
export function linkError(code: LinkErrorCode, message: string, options?: { cause?: unknown }): ProtocolError {
  return new ProtocolError(code, message, options);
}

export interface LinkIdentity {
  user: string;
  /** My device id (data-folder.ts deviceId); absent in tools and tests that have none. */
  device?: string;
  /** My RSA-PSS private signing key. */
  signingKey: KeyObject;
}
/**
 * The pinned signing key of a user, or undefined if we do not know/trust them (then refuse the
 * link). A server passes the remote address the name came from (for lookup budgets).
 */
export type PinnedKeyLookup = (user: string, address?: string) => Promise<KeyObject | undefined>;

export interface LinkOptions {
  /** From TCP connect (or accept) to an established link. Default LINK_LIMITS.handshakeTimeoutMs (5 s). */
  handshakeTimeoutMs?: number;
  /** Bytes queued for a peer before it counts as not reading and is dropped. Default 8 MiB. */
  maxQueueBytes?: number;
  /** Close a link with no traffic either way for this long. Default 0: never. */
  idleTimeoutMs?: number;
  /** How long close() waits for the peer to finish its side before destroying. Default 1 s. */
  closeGraceMs?: number;
}
export type ResolvedLinkOptions = Required<LinkOptions>;

export function resolveOptions(opts: LinkOptions): ResolvedLinkOptions {
  return {
    handshakeTimeoutMs: opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    maxQueueBytes: opts.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES,
    idleTimeoutMs: opts.idleTimeoutMs ?? 0,
    closeGraceMs: opts.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS,
  };
}

// ---- sealing ---------------------------------------------------------------------------------

export type Direction = 'i2r' | 'r2i';

/** Per-direction keys and counters of an established link. */
export interface LinkSession {
  remoteUser: string;
  /** The other side's device, as signed in the transcript; undefined for a peer older than devices. */
  remoteDevice: string | undefined;
  initiator: boolean;
  sendKey: Buffer;
  recvKey: Buffer;
  sendCounter: number;
  recvCounter: number;
}

/** 4 zero bytes ‖ 8-byte big-endian counter: unique per key, since each direction has its own key. */
function counterNonce(n: number): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeBigUInt64BE(BigInt(n), 4);
  return iv;
}

const aadOf = (direction: Direction): Buffer => Buffer.from(`${LABELS.linkKeys}/${direction}`, 'utf8');

export function sealPayload(key: Buffer, direction: Direction, n: number, plaintext: Uint8Array): SealedFrame {
  return { t: 'sealed', n, c: toBase64Url(aesGcmEncrypt(key, counterNonce(n), plaintext, aadOf(direction))) };
}

/** Throws ProtocolError('crypto.decrypt_failed') for a tampered, misdirected or wrongly numbered frame. */
export function openPayload(key: Buffer, direction: Direction, frame: SealedFrame): Buffer {
  return aesGcmDecrypt(key, counterNonce(frame.n), fromBase64Url(frame.c), aadOf(direction));
}

// ---- framed socket ---------------------------------------------------------------------------

export interface FrameHandler {
  frame(value: unknown): void;
  /** The socket ended: undefined for a clean end, else why. */
  end(reason: Error | undefined): void;
}

/**
 * One socket, one decoder. During the handshake frames are pulled with next() (the socket pauses
 * while one waits unread, so the queue holds at most one read's worth); afterwards attach() pushes
 * them to the link. Never throws out of a socket callback.
 */
export class FrameReader {
  private readonly decoder = new FrameDecoder(PEER_FRAME_LIMIT);
  private readonly queue: unknown[] = [];
  private waiter: { resolve(v: unknown): void; reject(e: Error): void } | undefined;
  private handler: FrameHandler | undefined;
  private ended = false;
  private endReason: Error | undefined;
  private stopped = false;
  /**
   * While set (a server's unauthenticated handshake), bytes held for one unfinished frame stay
   * under this: a stranger cannot make each pending connection buffer a 1 MiB frame.
   */
  handshakeLimit: number | undefined;

  constructor(readonly socket: Socket, private readonly peer: string) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () =>
      this.finish(this.decoder.pending ? linkError('link.protocol', `${peer} closed the connection in the middle of a frame`) : undefined));
    socket.on('error', (err) => this.finish(linkError('link.closed', `the connection to ${peer} was lost (${err.message})`, { cause: err })));
    socket.on('close', () => this.finish(undefined));
  }

  /** The next frame; rejects once the socket has ended and nothing is queued. */
  next(): Promise<unknown> {
    if (this.queue.length) {
      const value = this.queue.shift();
      if (!this.queue.length && !this.ended) this.socket.resume();
      return Promise.resolve(value);
    }
    if (this.ended) return Promise.reject(this.handshakeEnd());
    return new Promise((resolve, reject) => { this.waiter = { resolve, reject }; });
  }

  /** Switches to push mode: queued frames first, then an end that came while nobody listened. */
  attach(handler: FrameHandler): void {
    this.handler = handler;
    while (this.queue.length && !this.stopped) handler.frame(this.queue.shift());
    if (this.stopped) return;
    if (this.ended) handler.end(this.endReason);
    else this.socket.resume();
  }

  /** Ignore everything from now on (the owner closed the link). */
  stop(): void {
    this.stopped = true;
  }

  write(value: unknown): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(encodeFrame(value));
  }

  private onData(chunk: Buffer): void {
    // A bad frame after good ones in one read: the good ones come first, the error on the next push.
    for (let data = chunk; !this.stopped && !this.ended; data = Buffer.alloc(0)) {
      let frames: unknown[];
      try {
        frames = this.decoder.push(data);
      } catch (err) {
        // Out of sync (or not our protocol at all): nothing later on this stream can be trusted.
        this.finish(linkError('link.protocol', `${this.peer} sent an invalid frame: ${(err as Error).message}`, { cause: err }));
        return;
      }
      if (this.handshakeLimit !== undefined && !this.handler && this.decoder.pending > this.handshakeLimit) {
        this.finish(linkError('link.protocol',
          `${this.peer} sent over ${this.handshakeLimit} bytes of one handshake frame; handshake frames are smaller, so it is not our protocol`));
        return;
      }
      if (!frames.length) return;
      for (const value of frames) {
        if (this.stopped || this.ended) return;
        if (this.handler) this.handler.frame(value);
        else this.queue.push(value);
      }
      if (!this.handler) this.deliverPulled();
    }
  }

  private deliverPulled(): void {
    if (this.waiter && this.queue.length) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve(this.queue.shift());
    }
    if (this.queue.length) this.socket.pause();
  }

  private finish(reason: Error | undefined): void {
    if (this.ended) return;
    this.ended = true;
    this.endReason = reason;
    if (this.handler) {
      if (!this.stopped) this.handler.end(reason);
    } else if (this.waiter) { // even when stopped, so an abandoned handshake does not hang
      const { reject } = this.waiter;
      this.waiter = undefined;
      reject(this.handshakeEnd());
    }
  }

  private handshakeEnd(): Error {
    return this.endReason ?? linkError('link.closed', `${this.peer} closed the connection during the handshake`);
  }
}

// ---- the handshake ---------------------------------------------------------------------------

interface Transcript {
  initiator: string;
  responder: string;
  initNonce: string;
  respNonce: string;
  initEph: string;
  respEph: string;
  /** The devices, when the hellos named them (absent: the transcript of a peer older than devices). */
  initDevice?: string;
  respDevice?: string;
}

/** The device fields of a transcript, only those present (so a transcript without devices is as before). */
const devicesOf = (init: string | undefined, resp: string | undefined): Pick<Transcript, 'initDevice' | 'respDevice'> => ({
  ...(init !== undefined ? { initDevice: init } : {}),
  ...(resp !== undefined ? { respDevice: resp } : {}),
});

const signedBytes = (role: 'initiator' | 'responder', t: Transcript): Buffer => canonicalBytes({ role, ...t });

/** HKDF(shared, salt = SHA-256 of the role-free transcript): first 32 bytes i→r, last 32 r→i. */
function deriveKeys(shared: Buffer, t: Transcript): { i2r: Buffer; r2i: Buffer } {
  const okm = hkdfSha256(shared, sha256(canonicalBytes(t)), LABELS.linkKeys, 64);
  return { i2r: okm.subarray(0, 32), r2i: okm.subarray(32) };
}

/** A handshake that failed on our side (details.remote: what the peer was told before we close). */
export function isRefusal(err: unknown): err is ProtocolError {
  return isCoded(err) && err.details?.remote !== undefined;
}

function refuse(reader: FrameReader, code: LinkErrorCode, local: string, remote: string): never {
  reader.write({ t: 'refused', code, message: remote.slice(0, 500) } satisfies Handshake);
  throw new ProtocolError(code, local, { details: { remote } });
}

/** The peer refused us: a message in our words, theirs appended. */
export function refusedBy(peer: string, me: string, r: { code: string; message: string }): ProtocolError {
  const code: LinkErrorCode = REMOTE_CODES.has(r.code) ? (r.code as LinkErrorCode) : 'link.refused';
  const ours: Partial<Record<LinkErrorCode, string>> = {
    'link.unknown_user': `${peer} does not know ${me} (they have no pinned key for you), so they refused the link`,
    'link.wrong_user': `the peer at that address is not ${peer}; it refused a link meant for ${peer}`,
    'link.bad_signature': `${peer} could not verify that you are ${me}: your signing key does not match the one they pinned for you`,
    'link.timeout': `${peer} gave up waiting for the handshake`,
    'link.busy': `${peer} is busy with other handshakes; try again in a few seconds`,
  };
  return linkError(code, `${ours[code] ?? `${peer} refused the link`} (they said: ${JSON.stringify(r.message)})`);
}

function parseHandshake(reader: FrameReader, value: unknown, peer: string): Handshake {
  try {
    return handshakeSchema.parse(value);
  } catch (err) {
    return refuse(reader, 'link.protocol', `${peer} sent a malformed handshake: ${(err as Error).message}`, 'malformed handshake frame');
  }
}

function sharedSecret(reader: FrameReader, priv: KeyObject, eph: string, peer: string): Buffer {
  try {
    return x25519SharedSecret(priv, fromBase64Url(eph, 32));
  } catch (err) {
    if (!isCoded(err)) throw err;
    return refuse(reader, 'link.protocol', `${peer} sent an unusable ephemeral key (${err.message})`, 'unusable ephemeral key');
  }
}

/** `remoteDevice`: the device dialled (the responder refuses the link if it is another one). */
export async function runInitiator(reader: FrameReader, me: LinkIdentity, remoteUser: string, remoteKey: KeyObject, remoteDevice?: string): Promise<LinkSession> {
  const eph = x25519Generate();
  const hello = {
    t: 'hello', v: 2, from: me.user, to: remoteUser, eph: toBase64Url(eph.publicKey), nonce: toBase64Url(randomBytes(NONCE_BYTES)),
    ...(me.device !== undefined ? { device: me.device } : {}), ...(remoteDevice !== undefined ? { toDevice: remoteDevice } : {}),
  } as const;
  reader.write(hello);

  const reply = parseHandshake(reader, await reader.next(), remoteUser);
  if (reply.t === 'refused') throw refusedBy(remoteUser, me.user, reply);
  if (reply.t !== 'hello_reply') return refuse(reader, 'link.protocol', `${remoteUser} answered hello with ${reply.t}`, 'expected hello_reply');
  if (reply.from !== remoteUser) {
    return refuse(reader, 'link.wrong_user', `the peer at that address is ${reply.from}, not ${remoteUser}`, `this link is for ${remoteUser}`);
  }
  if (reply.to !== me.user) return refuse(reader, 'link.protocol', `${remoteUser} answered a hello meant for ${reply.to}`, `I am ${me.user}`);
  if (remoteDevice !== undefined && reply.device !== undefined && reply.device !== remoteDevice) {
    return refuse(reader, 'link.wrong_user', `the peer at that address is another device of ${remoteUser}`, 'this link is for another device');
  }
  const t: Transcript = {
    initiator: me.user, responder: remoteUser, initNonce: hello.nonce, respNonce: reply.nonce, initEph: hello.eph, respEph: reply.eph,
    ...devicesOf(me.device, reply.device),
  };
  const shared = sharedSecret(reader, eph.privateKey, reply.eph, remoteUser);
  reader.write({ t: 'hello_finish', sig: toBase64Url(signPss(me.signingKey, LABELS.linkHandshake, signedBytes('initiator', t))) } satisfies Handshake);
  const { i2r, r2i } = deriveKeys(shared, t);

  // Key confirmation and the responder's proof: its first sealed frame, or a refusal of ours.
  const value = await reader.next();
  if ((value as { t?: unknown } | null)?.t === 'refused') {
    const r = parseHandshake(reader, value, remoteUser) as Extract<Handshake, { t: 'refused' }>;
    throw refusedBy(remoteUser, me.user, r);
  }
  let confirm: Confirm;
  try {
    const frame = sealedFrameSchema.parse(value);
    if (frame.n !== 0) throw new Error(`counter ${frame.n}`);
    confirm = confirmSchema.parse(JSON.parse(openPayload(r2i, 'r2i', frame).toString('utf8')));
  } catch (err) {
    return refuse(reader, 'link.protocol', `${remoteUser} did not confirm the link keys (${(err as Error).message})`, 'bad key confirmation');
  }
  if (!verifyPss(remoteKey, LABELS.linkHandshake, signedBytes('responder', t), fromBase64Url(confirm.sig))) {
    return refuse(reader, 'link.bad_signature',
      `the peer claiming to be ${remoteUser} did not prove it: its signature does not match the key pinned for ${remoteUser} ` +
      `(someone may be impersonating ${remoteUser}, or their key changed: compare fingerprints)`,
      `your signature does not match the key pinned for ${remoteUser}`);
  }
  return { remoteUser, remoteDevice: reply.device, initiator: true, sendKey: i2r, recvKey: r2i, sendCounter: 0, recvCounter: 1 };
}

/**
 * What a responder needs besides its identity. `lookup` gives the pinned key of the name in a
 * hello (it may throw; an error with code `link.busy` is passed on to the peer as such);
 * `beforeSign` waits for the signature budget and resolves false if the handshake should stop.
 */
export interface ResponderContext {
  lookup: (user: string) => Promise<KeyObject | undefined>;
  beforeSign?: () => Promise<boolean>;
}

export async function runResponder(reader: FrameReader, me: LinkIdentity, ctx: ResponderContext, address: string): Promise<LinkSession> {
  const hello = parseHandshake(reader, await reader.next(), address);
  if (hello.t !== 'hello') return refuse(reader, 'link.protocol', `${address} opened with ${hello.t}, not hello`, 'expected hello');
  const peer = hello.from;
  if (hello.to !== me.user) {
    return refuse(reader, 'link.wrong_user', `${peer} at ${address} wanted ${hello.to}, but this is ${me.user}`, `this is ${me.user}, not ${hello.to}`);
  }
  if (hello.toDevice !== undefined && me.device !== undefined && hello.toDevice !== me.device) {
    return refuse(reader, 'link.wrong_user', `${peer} at ${address} wanted another device of ${me.user}`, `this is another device of ${me.user}`);
  }
  if (peer === me.user && hello.device !== undefined && hello.device === me.device) {
    return refuse(reader, 'link.wrong_user', `a link from this very device came in from ${address}`, 'this is your own device');
  }
  let key: KeyObject | undefined;
  try {
    key = await ctx.lookup(peer);
  } catch (err) {
    if (isCoded(err, 'link.busy')) {
      return refuse(reader, 'link.busy', `did not look up ${peer} for ${address}: ${(err as Error).message}`, 'busy: try again in a few seconds');
    }
    return refuse(reader, 'link.refused', `could not look up the key of ${peer}: ${(err as Error).message}`, 'try again later');
  }
  if (!key) return refuse(reader, 'link.unknown_user', `${peer} at ${address} is not a known user (no pinned key)`, `${me.user} has no pinned key for ${peer}`);

  // Nothing signed yet: the reply only commits to our ephemeral key and nonce.
  const eph = x25519Generate();
  const t: Transcript = {
    initiator: peer, responder: me.user, initNonce: hello.nonce, respNonce: toBase64Url(randomBytes(NONCE_BYTES)),
    initEph: hello.eph, respEph: toBase64Url(eph.publicKey), ...devicesOf(hello.device, me.device),
  };
  const shared = sharedSecret(reader, eph.privateKey, hello.eph, peer);
  reader.write({ t: 'hello_reply', from: me.user, to: peer, eph: t.respEph, nonce: t.respNonce, ...(me.device !== undefined ? { device: me.device } : {}) } satisfies Handshake);

  const finish = parseHandshake(reader, await reader.next(), peer);
  if (finish.t === 'refused') throw refusedBy(peer, me.user, finish);
  if (finish.t !== 'hello_finish') return refuse(reader, 'link.protocol', `${peer} answered hello_reply with ${finish.t}`, 'expected hello_finish');
  if (!verifyPss(key, LABELS.linkHandshake, signedBytes('initiator', t), fromBase64Url(finish.sig))) {
    return refuse(reader, 'link.bad_signature',
      `the peer at ${address} claiming to be ${peer} did not prove it: its signature does not match the key pinned for ${peer}`,
      `your signature does not match the key ${me.user} pinned for ${peer}`);
  }
  // The initiator proved who it is: only now do we spend a signature (within the budget).
  if (ctx.beforeSign && !(await ctx.beforeSign())) {
    throw linkError('link.closed', `the handshake with ${peer} at ${address} ended while it waited for the signature budget`);
  }
  const { i2r, r2i } = deriveKeys(shared, t);
  const confirm: Confirm = { t: 'confirm', sig: toBase64Url(signPss(me.signingKey, LABELS.linkHandshake, signedBytes('responder', t))) };
  reader.write(sealPayload(r2i, 'r2i', 0, Buffer.from(JSON.stringify(confirm), 'utf8')));
  return { remoteUser: peer, remoteDevice: hello.device, initiator: false, sendKey: r2i, recvKey: i2r, sendCounter: 1, recvCounter: 0 };
}
