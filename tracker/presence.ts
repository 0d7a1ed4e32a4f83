// Who is online: soft state built from the authenticated connections, so after a restart it is
// rebuilt as clients resume. A user may be connected from several machines; the newest
// connection's address and port are the ones advertised.

import type { PeerInfo, TrackerEvent } from '../protocol/tracker.ts';
import type { Connection } from './connection.ts';

export class Presence {
  private readonly byUser = new Map<string, Connection[]>();

  isOnline(user: string): boolean {
    return this.byUser.has(user);
  }

  /** Adds an authenticated connection; true when the user just came online. */
  add(conn: Connection): boolean {
    const list = this.byUser.get(conn.user!) ?? [];
    list.push(conn);
    this.byUser.set(conn.user!, list);
    return list.length === 1;
  }

  /** Removes a connection; true when the user has no other and just went offline. */
  remove(conn: Connection): boolean {
    const user = conn.user;
    if (!user) return false;
    const list = (this.byUser.get(user) ?? []).filter((c) => c !== conn);
    if (list.length) this.byUser.set(user, list);
    else this.byUser.delete(user);
    return list.length === 0;
  }

  info(user: string, fingerprint: string): PeerInfo {
    const list = this.byUser.get(user);
    const latest = list?.[list.length - 1];
    return latest
      ? { user, online: true, address: latest.address, port: latest.peerPort, fingerprint }
      : { user, online: false, fingerprint };
  }

  onlineUsers(): string[] {
    return [...this.byUser.keys()];
  }

  connectionsOf(user: string): readonly Connection[] {
    return this.byUser.get(user) ?? [];
  }

  /** Sends to every authenticated connection except `except`. */
  broadcast(event: TrackerEvent, except?: Connection): void {
    for (const list of this.byUser.values()) for (const c of list) if (c !== except) c.sendEvent(event);
  }

  allConnections(): Connection[] {
    return [...this.byUser.values()].flat();
  }
}
