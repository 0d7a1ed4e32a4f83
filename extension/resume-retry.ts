// Which failures of resuming the saved session at startup heal by themselves (the controller
// tries again later) and which need the user.

/**
 * Whether a failed resume may work later by itself: the tracker could not be reached or did not
 * answer. Not a refusal: an ended session, a changed certificate, a tracker not trusted, keys that
 * do not match (those need the user).
 */
export function unreachable(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  // Only what the tracker link says: a local failure (the data folder in use, a damaged store) is
  // not "could not reach the tracker" and does not heal by retrying.
  return typeof code === 'string' && RETRYABLE.has(code);
}

/** What a tracker that is down, restarting or overloaded answers. */
const RETRYABLE: ReadonlySet<string> = new Set([
  'tracker.unreachable',
  'server.busy',
  'server.timeout',
  'server.shutdown',
  // The socket's own errors, as Node names them (a tracker that is down refuses the connection).
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'EAI_AGAIN',
]);
