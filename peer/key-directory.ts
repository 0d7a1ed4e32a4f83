// Pinned identities (DESIGN.md "End-to-end encryption"): each user's keys are pinned on first
// sight, like SSH's known_hosts. A different key later is a `key_changed` warning, and nothing is
// sent to that user until their new key is acknowledged with verify(). Verification also marks a
// member verified after comparing fingerprints out of band.

import type { KeyObject } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { normalizeFingerprint } from '../protocol/crypto.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { checkIdentity, type Identity } from '../protocol/identity.ts';
import type { PublicIdentity } from '../protocol/tracker.ts';

export interface PinnedUser {
  fingerprint: string;
  identity: Identity;
  verified: boolean;
  /** A different key the tracker presented; sending stops until it is acknowledged. */
  changed?: { fingerprint: string; identity: Identity };
}

export interface KeyChange {
  user: string;
  oldFingerprint: string;
  newFingerprint: string;
}

interface Loaded {
  signingKey: KeyObject;
  encryptionKey: KeyObject;
}

export class KeyDirectory extends EventEmitter<{ key_changed: [KeyChange]; changed: [] }> {
  private readonly loaded = new Map<string, Loaded>();

  constructor(
    /** Pins by user name: a Map, since names come from peers and the tracker (`__proto__` is a valid name). */
    private readonly pins: Map<string, PinnedUser>,
    private readonly fetchKeys: (users: string[]) => Promise<PublicIdentity[]>,
  ) {
    super();
  }

  /** Pins every user not pinned yet (fetching their keys from the tracker). */
  async ensure(users: Iterable<string>): Promise<void> {
    const missing = [...new Set(users)].filter((u) => !this.pins.has(u));
    if (missing.length) this.learn(await this.fetchKeys(missing), missing);
  }

  /** Fetches users' current keys again, to notice a change. */
  async refresh(users: Iterable<string>): Promise<void> {
    const list = [...new Set(users)];
    if (list.length) this.learn(await this.fetchKeys(list), list);
  }

  /**
   * Identities from the tracker: checked, then pinned or compared with the pin. With `asked`,
   * only those users' keys count: an answer about someone we did not ask for pins nothing.
   */
  learn(identities: PublicIdentity[], asked?: readonly string[]): void {
    let dirty = false;
    const wanted = asked && new Set(asked);
    for (const id of identities) {
      if (wanted && !wanted.has(id.user)) continue;
      const identity: Identity = { signingKey: id.signingKey, encryptionKey: id.encryptionKey, encryptionKeySig: id.encryptionKeySig };
      const checked = checkIdentity(id.user, identity);
      const pin = this.pins.get(id.user);
      if (!pin) {
        this.pins.set(id.user, { fingerprint: checked.fingerprint, identity, verified: false });
        dirty = true;
      } else if (pin.fingerprint !== checked.fingerprint && pin.changed?.fingerprint !== checked.fingerprint) {
        pin.changed = { fingerprint: checked.fingerprint, identity };
        dirty = true;
        this.emit('key_changed', { user: id.user, oldFingerprint: pin.fingerprint, newFingerprint: checked.fingerprint });
      }
    }
    if (dirty) this.emit('changed');
  }

  /**
   * Whether a fingerprint the tracker shows for `user` (presence, list_peers) disagrees with the
   * pin and with any pending change: a cheap early warning of a key change, and, when get_keys
   * still serves the pinned key, a sign that the tracker tells different things.
   */
  noticeFingerprint(user: string, fingerprint: string): boolean {
    const pin = this.pins.get(user);
    return Boolean(pin && pin.fingerprint !== fingerprint && pin.changed?.fingerprint !== fingerprint);
  }

  /** Pin the user's key myself (my own identity, from my own private keys). */
  pinOwn(user: string, identity: Identity): void {
    const checked = checkIdentity(user, identity);
    this.pins.set(user, { fingerprint: checked.fingerprint, identity, verified: true });
    this.loaded.delete(user);
    this.emit('changed');
  }

  get(user: string): PinnedUser | undefined {
    return this.pins.get(user);
  }

  /** Keys of the pinned identity (never of an unacknowledged change). */
  keys(user: string): Loaded | undefined {
    const cached = this.loaded.get(user);
    if (cached) return cached;
    const pin = this.pins.get(user);
    if (!pin) return undefined;
    const checked = checkIdentity(user, pin.identity);
    const keys = { signingKey: checked.signingKey, encryptionKey: checked.encryptionKey };
    this.loaded.set(user, keys);
    return keys;
  }

  signingKey(user: string): KeyObject | undefined {
    return this.keys(user)?.signingKey;
  }

  /** Sending stops to a user whose key changed until it is acknowledged. */
  blocked(user: string): boolean {
    return Boolean(this.pins.get(user)?.changed);
  }

  /**
   * Marks a user verified after an out-of-band comparison. `fingerprint` is the one the user was
   * shown and compared (or read aloud): it must match the key that verifying accepts, so a key
   * nobody was shown is never marked (a key is pinned silently on first sight, by a message, a
   * join or a bundle: being pinned says nothing about having been shown). A pending key change
   * is accepted by verifying the new key.
   */
  verify(user: string, fingerprint: string): PinnedUser {
    const pin = this.pins.get(user);
    if (!pin) throw new ProtocolError('user.not_found', `no key is known for ${user} yet; message them or list the members of a shared room first`);
    const target = pin.changed ?? pin;
    const entered = normalizeFingerprint(fingerprint);
    if (!entered || entered !== normalizeFingerprint(target.fingerprint)) {
      // The real fingerprint is not in the message: shown next to a wrong one it invites copying
      // it into the command instead of comparing it out of band.
      throw new ProtocolError(
        'key.fingerprint_mismatch',
        `the fingerprint you entered does not match ${user}'s key; do not trust it. Run fingerprint ${user} to see the key, and compare it with ${user} out of band`,
      );
    }
    const verified: PinnedUser = { fingerprint: target.fingerprint, identity: target.identity, verified: true };
    this.pins.set(user, verified);
    this.loaded.delete(user);
    this.emit('changed');
    return verified;
  }
}
