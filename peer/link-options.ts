// What a peer link is opened with: who I am (name, device, signing key), how a peer's pinned key
// is found, and the link's timeouts and buffer bound, each with its default.

import type { KeyObject } from 'node:crypto';
import { LINK_LIMITS } from '../protocol/peer.ts';

/** From TCP connect (or accept) to an established link (ms; LINK_LIMITS.handshakeTimeoutMs). */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = LINK_LIMITS.handshakeTimeoutMs;
/** A peer that stops reading is dropped once this much is queued for it, not buffered forever. */
export const DEFAULT_MAX_QUEUE_BYTES = 8 * 1024 * 1024;
/** A graceful close waits this long for the peer to finish its side before destroying. */
export const DEFAULT_CLOSE_GRACE_MS = 1_000;

/** Who I am on a link: what the handshake names and signs with. */
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

/** A link's timeouts and buffer bound; resolveOptions fills in the defaults. */
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

/** `opts` with each missing option set to its default. */
export function resolveOptions(opts: LinkOptions): ResolvedLinkOptions {
  return {
    handshakeTimeoutMs: opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    maxQueueBytes: opts.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES,
    idleTimeoutMs: opts.idleTimeoutMs ?? 0,
    closeGraceMs: opts.closeGraceMs ?? DEFAULT_CLOSE_GRACE_MS,
  };
}
