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
//
// Around it: link-options.ts (identity, options), link-errors.ts (failures and refusals),
// link-frames.ts (the framed socket), link-sealing.ts (the established link's frames).

import { ProtocolError, isCoded, type LinkErrorCode } from '../protocol/errors.ts';
import type { KeyObject } from 'node:crypto';
import { canonicalBytes } from '../protocol/canonical.ts';
import {
  LABELS, fromBase64Url, hkdfSha256, randomBytes, sha256, signPss, toBase64Url, verifyPss, x25519Generate, x25519SharedSecret,
} from '../protocol/crypto.ts';
import { confirmSchema, handshakeSchema, sealedFrameSchema, type Confirm, type Handshake } from '../protocol/peer.ts';
import { linkError, refusedBy } from './link-errors.ts';
import type { FrameReader } from './link-frames.ts';
import type { LinkIdentity } from './link-options.ts';
import { openPayload, sealPayload, type LinkSession } from './link-sealing.ts';

// link.ts and the tests import these from here, as before the split.
export { isRefusal, linkError, refusedBy, type LinkErrorCode } from './link-errors.ts';
export { FrameReader, type FrameHandler } from './link-frames.ts';
export {
  DEFAULT_CLOSE_GRACE_MS, DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_QUEUE_BYTES, resolveOptions,
  type LinkIdentity, type LinkOptions, type PinnedKeyLookup, type ResolvedLinkOptions,
} from './link-options.ts';
export { MAX_MESSAGE_BYTES, openPayload, sealPayload, type Direction, type LinkSession } from './link-sealing.ts';

/** Each side's random nonce in the transcript. */
const NONCE_BYTES = 32;

/** What both sides sign (with their role added) and what the link keys are salted with. */
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

/** Tells the peer why the handshake stops (`remote`), then throws with our own words (`local`). */
function refuse(reader: FrameReader, code: LinkErrorCode, local: string, remote: string): never {
  reader.write({ t: 'refused', code, message: remote.slice(0, 500) } satisfies Handshake);
  throw new ProtocolError(code, local, { details: { remote } });
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
  // The initiator gave up before its hello (its handshake deadline ran out while it connected):
  // nothing to answer, and no fault of anyone's to report here (it reports its own timeout).
  if (hello.t === 'refused') throw new ProtocolError('link.closed', `${address} gave up before its hello (${hello.message})`, { details: { gaveUp: true } });
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
