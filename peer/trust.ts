// Who is who (DESIGN.md "Identity"): fingerprints as pinned here, verification after an out-of-band
// comparison, and the rows of people and members with the key this client holds for each. When
// the tracker shows a fingerprint that differs from the pin, that is reported once per
// disagreement, like a key change.

import type { ClientEvents, MemberRow, PeerRow } from '../protocol/client.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { normalizeUserName } from '../protocol/names.ts';
import type { PeerInfo } from '../protocol/tracker.ts';
import type { KeyDirectory } from './key-directory.ts';
import type { TrackerSession } from './tracker-session.ts';

export interface TrustParts {
  me: string;
  keys: KeyDirectory;
  tracker: Pick<TrackerSession, 'listPeers'>;
  presence: ReadonlyMap<string, PeerInfo>;
  /** A key was accepted: sessions shared with this user start anew. */
  accepted: (user: string) => void;
  error: (e: ClientEvents['error']) => void;
}

export type FingerprintRow = { user: string; fingerprint: string; verified: boolean; changedTo?: string };

export class Trust {
  /** user -> the last disagreement reported between the pin and the tracker's fingerprint. */
  private readonly disagreements = new Map<string, string>();

  constructor(private readonly parts: TrustParts) {}

  /** The pinned fingerprint; `changedTo` is the unacknowledged new one after a key change. Throws 'user.not_found'. */
  fingerprint(user?: string): FingerprintRow {
    const who = user ? normalizeUserName(user) : this.parts.me;
    const pin = this.parts.keys.get(who);
    if (!pin) throw new ProtocolError('user.not_found', `no key is known for ${who} yet; list the people or message them first`);
    return { user: who, fingerprint: pin.fingerprint, verified: pin.verified, ...(pin.changed ? { changedTo: pin.changed.fingerprint } : {}) };
  }

  /**
   * A user's fingerprint for the user to compare out of band: the pinned one, or for a user never
   * seen the key the tracker serves, fetched now and pinned unverified (trust on first use, nothing
   * more), so a different key served later shows as a key change. Throws 'user.not_found'.
   */
  async lookupFingerprint(rawUser?: string): Promise<FingerprintRow> {
    const user = rawUser ? normalizeUserName(rawUser) : this.parts.me;
    await this.parts.keys.ensure([user]);
    if (!this.parts.keys.get(user)) throw new ProtocolError('user.not_found', `the tracker knows no user named ${user}; check the spelling (list_peers shows who is registered)`);
    return this.fingerprint(user);
  }

  /**
   * Marks a user verified after comparing `fingerprint` out of band, accepting a pending key change.
   * The key must still be that one ('key.fingerprint_mismatch'); without a fingerprint nothing is
   * marked ('request.invalid', or 'user.not_found' when no key is known at all): a pinned key is
   * not a key that was shown.
   */
  async verify(rawUser: string, fingerprint?: string): Promise<{ user: string; fingerprint: string }> {
    const { keys } = this.parts;
    const user = normalizeUserName(rawUser);
    const how = `run fingerprint ${user}, compare what it shows with the fingerprint ${user} reads out from their own screen (their fingerprint command), then verify ${user} FINGERPRINT with the one you compared`;
    if (!fingerprint?.trim()) {
      if (!keys.get(user)) throw new ProtocolError('user.not_found', `no key is known for ${user} yet: ${how}`);
      throw new ProtocolError('request.invalid', `verify needs the fingerprint you compared: ${how}`);
    }
    await keys.ensure([user]);
    const pin = keys.verify(user, fingerprint);
    this.parts.accepted(user);
    return { user, fingerprint: pin.fingerprint };
  }

  /**
   * Everyone on the tracker (all pages), with the key held here: `fingerprint` is the pinned one
   * where there is a pin, else the tracker's; `trackerFingerprint` is set when the tracker's
   * presence fingerprint differs from the pin (reported like a key change).
   */
  async peers(): Promise<PeerRow[]> {
    const { keys } = this.parts;
    const peers = await this.parts.tracker.listPeers();
    return peers.map((p) => {
      const pin = keys.get(p.user);
      const disagrees = this.trackerKeyDisagrees(p.user, p.fingerprint);
      return {
        ...p,
        fingerprint: pin?.fingerprint ?? p.fingerprint,
        pinned: Boolean(pin),
        verified: pin?.verified ?? false,
        ...(pin?.changed ? { changedTo: pin.changed.fingerprint } : {}),
        ...(disagrees ? { trackerFingerprint: p.fingerprint } : {}),
      };
    });
  }

  /** Member rows of a room: pinned key, pending change, and the tracker's fingerprint when it disagrees. */
  members(members: Iterable<string>, owner: string | null): MemberRow[] {
    const { keys, presence, me } = this.parts;
    return [...members].map((user) => {
      const pin = keys.get(user);
      const shown = presence.get(user)?.fingerprint;
      const disagrees = user !== me && shown !== undefined && this.trackerKeyDisagrees(user, shown);
      return {
        user,
        owner: owner === user,
        verified: pin?.verified ?? false,
        online: user === me || (presence.get(user)?.online ?? false),
        ...(pin ? { fingerprint: pin.fingerprint } : {}),
        ...(pin?.changed ? { changedTo: pin.changed.fingerprint } : {}),
        ...(disagrees ? { trackerFingerprint: shown } : {}),
      };
    });
  }

  /**
   * Whether the fingerprint the tracker shows for `user` differs from the pin and any pending
   * change; the first time a given disagreement is seen it is reported (an `error`, code
   * `key_changed`): compare out of band before trusting either.
   */
  trackerKeyDisagrees(user: string, trackerFingerprint: string): boolean {
    const { keys } = this.parts;
    if (!keys.noticeFingerprint(user, trackerFingerprint)) return false;
    const pinned = keys.get(user)!.fingerprint;
    const seen = `${pinned} ${trackerFingerprint}`;
    if (this.disagreements.get(user) !== seen) {
      this.disagreements.set(user, seen);
      this.parts.error({
        code: 'key_changed',
        message: `the tracker shows ${user}'s key as ${trackerFingerprint}, but the key pinned here (and used for ${user}) is ${pinned}: the tracker and your pin disagree. Compare fingerprints with ${user} out of band (fingerprint ${user}) before trusting either, and do not verify ${user} until they match`,
      });
    }
    return true;
  }
}
