// A peer link's failures: ProtocolErrors with `link.*` codes; a refusal we sent the peer before
// closing (isRefusal), and a refusal the peer sent us, told in our words (refusedBy).

import { ProtocolError, isCoded, type LinkErrorCode } from '../protocol/errors.ts';

export type { LinkErrorCode };
const REMOTE_CODES: ReadonlySet<string> = new Set<LinkErrorCode>([
  'link.refused', 'link.bad_signature', 'link.timeout', 'link.unknown_user', 'link.wrong_user', 'link.protocol', 'link.busy',
]);

/** A link failure: ProtocolError with a `link.*` code. */
export function linkError(code: LinkErrorCode, message: string, options?: { cause?: unknown }): ProtocolError {
  return new ProtocolError(code, message, options);
}

/** A handshake that failed on our side (details.remote: what the peer was told before we close). */
export function isRefusal(err: unknown): err is ProtocolError {
  return isCoded(err) && err.details?.remote !== undefined;
}

/**
 * The peer refused us: a message in our words, theirs appended. One whose own deadline ran out
 * (link.timeout) gave up, at whatever step: `details.gaveUp`, a fault it reports itself, which
 * a responder does not report as a refusal (peer/link-server.ts).
 */
export function refusedBy(peer: string, me: string, r: { code: string; message: string }): ProtocolError {
  const code: LinkErrorCode = REMOTE_CODES.has(r.code) ? (r.code as LinkErrorCode) : 'link.refused';
  const ours: Partial<Record<LinkErrorCode, string>> = {
    'link.unknown_user': `${peer} does not know ${me} (they have no pinned key for you), so they refused the link`,
    'link.wrong_user': `the peer at that address is not ${peer}; it refused a link meant for ${peer}`,
    'link.bad_signature': `${peer} could not verify that you are ${me}: your signing key does not match the one they pinned for you`,
    'link.timeout': `${peer} gave up waiting for the handshake`,
    'link.busy': `${peer} is busy with other handshakes; try again in a few seconds`,
  };
  const message = `${ours[code] ?? `${peer} refused the link`} (they said: ${JSON.stringify(r.message)})`;
  return new ProtocolError(code, message, code === 'link.timeout' ? { details: { gaveUp: true } } : undefined);
}
