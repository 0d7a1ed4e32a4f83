// Peer links (DESIGN.md "Peer links"): TCP between two users, opened by the handshake in
// link-handshake.ts, then every frame sealed under a per-direction key; a broken frame closes
// that link only, a server keeps serving. This file is the one import path for links; each job
// lives in its own file:
//   link-established.ts  PeerLink: one established link, sealed frames both ways
//   link-connect.ts      connectLink: dialling a peer (initiator)
//   link-server.ts       LinkServer: accepting links (responder), admission of strangers
//   link-deadline.ts     the handshake deadline and closing a failed handshake (both sides)
//   link-handshake.ts    the SIGMA-R handshake (with link-options, -errors, -sealing, -frames)

export { PeerLink, kLinkKeys } from './link-established.ts';
export { connectLink } from './link-connect.ts';
export { LinkServer, type LinkServerEvents, type LinkServerOptions } from './link-server.ts';
export {
  DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_MAX_QUEUE_BYTES, MAX_MESSAGE_BYTES,
  type LinkErrorCode, type LinkIdentity, type LinkOptions, type PinnedKeyLookup,
} from './link-handshake.ts';
