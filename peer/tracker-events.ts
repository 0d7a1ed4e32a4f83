// What the tracker pushes (presence, room events, room listings, mailbox expiry), applied to the
// parts that own each thing; and the presence table replaced after a sign-in or resume. The
// tracker is trusted to be available, not honest: a pushed fingerprint that differs from the
// pinned key is checked against get_keys (trust.ts), and room entries go through room-sync's
// verification like any other.

import type { ClientEvents } from '../protocol/client.ts';
import { deviceRoutes, type PeerInfo, type RoomSummary, type TrackerEvent } from '../protocol/tracker.ts';
import type { RoomDirectory } from './room-directory.ts';
import type { Signed } from './signed-session.ts';

export interface TrackerEventParts {
  s: Signed;
  /** Who is online where, as the tracker last said; owned by the session (session-lifecycle.ts), changed only here. */
  presence: Map<string, PeerInfo>;
  directory: RoomDirectory;
  emitPresence: (e: ClientEvents['presence']) => void;
  /** This device's id: my own presence lists it among my devices. */
  device: string;
  /** Work that shutdown waits for briefly. */
  track: (work: Promise<void>) => void;
}

/** Each device's address as `host:port`, by device id ('' for a peer older than devices). */
function routes(p: PeerInfo | undefined): Map<string, string> {
  return new Map(deviceRoutes(p).map((r) => [r.device ?? '', `${r.host}:${r.port}`]));
}

/** Applies one tracker push. Throws what the part it reaches throws (the engine reports it). */
export async function onTrackerEvent(parts: TrackerEventParts, e: TrackerEvent): Promise<void> {
  const { s, presence, directory } = parts;
  switch (e.event) {
    case 'presence': {
      const before = presence.get(e.user);
      presence.set(e.user, e);
      const was = routes(before);
      const now = routes(e);
      // A device at a new address restarted: its old links are dead. Going offline at the
      // tracker does not end a link that still works (the tracker may be the one in trouble).
      for (const [device, at] of now) if (was.has(device) && was.get(device) !== at) s.pool.drop(e.user, device || undefined);
      // A device gone from a live list logged out (its links are for a session that ended); the
      // whole user offline keeps working links (the tracker may be the one in trouble).
      if (e.online) for (const device of was.keys()) if (device && !now.has(device)) s.pool.drop(e.user, device);
      if (s.pins.noticeFingerprint(e.user, e.fingerprint)) {
        await s.pins.refresh([e.user]);
        // Still different after get_keys: the tracker serves one key and shows another.
        s.trust.trackerKeyDisagrees(e.user, e.fingerprint);
      }
      // Devices that came or moved: links to them now, so what waits goes and catch-up runs both
      // ways (the pool's 'linked'): my own other devices, and any member's.
      const fresh = [...now].filter(([device, at]) => was.get(device) !== at && !(e.user === s.user && device === parts.device));
      if (e.user === s.user) {
        if (fresh.length) parts.track(s.pool.sendWith(s.user, () => true).then(() => {}));
        return;
      }
      if (before?.online !== e.online) parts.emitPresence({ user: e.user, online: e.online });
      // Gone: what they never acknowledged waits for them in their mailbox, not only here.
      if (!e.online) s.delivery.wentOffline(e.user);
      if (!e.online || !fresh.length) return;
      // Back: what waits for them goes now, and catch-up brings them what they missed from others
      // (and me what I missed from them). Already online on another device: link the new one too.
      if (before?.online && s.pool.isLinked(e.user)) parts.track(s.pool.sendWith(e.user, () => true).then(() => {}));
      else s.catchUp.reach([e.user]);
      return;
    }
    case 'room_event': {
      directory.pushed(e.room);
      const known = s.rooms.get(e.room.id);
      const mine = e.entry.actor === s.user || e.entry.subject === s.user;
      if (!known && !mine) return;
      if (known && e.entry.seq === known.state.head.seq + 1) await s.sync.apply([e.entry]);
      else if (known) await s.sync.syncRoom(e.room.id);
      return;
    }
    case 'room_listed':
      directory.pushed(e.room);
      return;
    case 'closing':
      return;
    case 'mailbox_dropped':
      s.mailbox.dropped(e.to, e.items);
      return;
  }
}

/**
 * Replaces the presence table with the tracker's view after a sign-in or a resume, and the
 * directory's rooms with the ones it listed. Returns whoever (not `me`) came or went meanwhile,
 * for the listeners a push would have told.
 */
export function replacePresence(presence: Map<string, PeerInfo>, directory: RoomDirectory, session: { peers: PeerInfo[]; rooms: RoomSummary[] }, me: string | undefined): ClientEvents['presence'][] {
  const before = new Map(presence);
  presence.clear();
  for (const p of session.peers) presence.set(p.user, p);
  directory.update(session.rooms);
  const changed: ClientEvents['presence'][] = [];
  for (const user of new Set([...before.keys(), ...presence.keys()])) {
    const was = before.get(user)?.online ?? false;
    const now = presence.get(user)?.online ?? false;
    if (user !== me && was !== now) changed.push({ user, online: now });
  }
  return changed;
}
