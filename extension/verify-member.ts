// Verify Member (the palette command, and the Verify buttons of the view): show a user's
// fingerprint and mark them verified only once the person confirms it matches. Free of `vscode`,
// so it is tested with a real engine (test/peer/verify-fingerprint.test.ts).

import type { ChatEngine } from '../peer/engine.ts';

/** What the confirmation shows: the key that verifying would accept. */
export interface FingerprintToConfirm {
  user: string;
  /** SHA-256 of the signing key, in groups: the pending new key after a key change, else the pinned one. */
  fingerprint: string;
  /** The key changed and this new one is not accepted yet. */
  changed: boolean;
  /** Already verified (with this very key). */
  verified: boolean;
}

/**
 * Looks `user` up without marking anything verified (a key never seen is pinned unverified, as a
 * first message would pin it), asks `confirm`, and only when it resolves true marks verified the
 * fingerprint that was shown: a key that changed in between is refused by the engine
 * (ProtocolError 'key.fingerprint_mismatch'), never verified unseen. Resolves with the user's
 * normalized name when verified, undefined when the person did not confirm. Throws
 * 'user.not_found' for a user the tracker does not know.
 */
export async function verifyMember(
  engine: Pick<ChatEngine, 'lookupFingerprint' | 'verify'>,
  user: string,
  confirm: (shown: FingerprintToConfirm) => Promise<boolean>,
): Promise<string | undefined> {
  const fp = await engine.lookupFingerprint(user);
  const shown: FingerprintToConfirm = {
    user: fp.user,
    fingerprint: fp.changedTo ?? fp.fingerprint,
    changed: fp.changedTo !== undefined,
    verified: fp.verified && fp.changedTo === undefined,
  };
  if (!(await confirm(shown))) return undefined;
  await engine.verify(shown.user, shown.fingerprint);
  return shown.user;
}
