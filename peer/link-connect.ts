// Opening a link to a peer (the initiator's side): the pinned key looked up first, then TCP and the
// handshake under one deadline.

import * as net from 'node:net';
import { PeerLink } from './link-established.ts';
import { abandon, withDeadline } from './link-deadline.ts';
import { FrameReader, linkError, resolveOptions, runInitiator, type LinkIdentity, type LinkOptions, type PinnedKeyLookup } from './link-handshake.ts';

/**
 * Dials `remoteUser` at host:port and runs the handshake as initiator, verifying them against the
 * key `pinnedKey` gives for them (and `remoteDevice` when given). Resolves to an established link.
 * Rejects with a ProtocolError: `link.unknown_user` (no pinned key, or its lookup failed),
 * `link.refused` (nothing listening), `link.closed` (other socket errors), `link.timeout` (no
 * complete handshake within handshakeTimeoutMs), or a link.* error of the handshake (a refusal
 * carries the peer's code); the socket is closed, or closing once a refusal is flushed.
 */
export async function connectLink(
  opts: { host: string; port: number; me: LinkIdentity; remoteUser: string; remoteDevice?: string; pinnedKey: PinnedKeyLookup } & LinkOptions,
): Promise<PeerLink> {
  const { host, port, me, remoteUser } = opts;
  const o = resolveOptions(opts);
  const remoteKey = await opts.pinnedKey(remoteUser).catch((err: unknown) => {
    throw linkError('link.unknown_user', `could not look up the key pinned for ${remoteUser}: ${(err as Error)?.message}`, { cause: err });
  });
  if (!remoteKey) {
    throw linkError('link.unknown_user', `${remoteUser} is not a known user here (no pinned key), so a link to them cannot be verified`);
  }
  const socket = net.connect({ host, port });
  socket.setNoDelay(true);
  const reader = new FrameReader(socket, remoteUser);
  const where = `${remoteUser} at ${host}:${port}`;
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', (err: NodeJS.ErrnoException) =>
      reject(linkError(err.code === 'ECONNREFUSED' ? 'link.refused' : 'link.closed',
        `could not reach ${where} (${err.code ?? err.message}): they may be offline`, { cause: err })));
  });
  try {
    const session = await withDeadline(reader, o.handshakeTimeoutMs, where,
      connected.then(() => runInitiator(reader, me, remoteUser, remoteKey, opts.remoteDevice)));
    return new PeerLink(reader, session, o);
  } catch (err) {
    reader.stop();
    abandon(socket, err, o.closeGraceMs);
    throw err;
  }
}
