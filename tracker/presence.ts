// Who is online: soft state built from the authenticated connections, so after a restart it is
// rebuilt as clients resume. A user may be online from several devices (data folders: machines,
// or VS Code installations), each listed with its address and port; a device that connects again
// (a restart, a resume after a network drop) replaces its older connection in the list, whose
// close is then no change. The newest device's address is the one a client older than devices uses.

import type { DeviceInfo, PeerInfo, TrackerEvent } from '../protocol/tracker.ts';
import { MAX_DEVICES_LISTED } from '../protocol/tracker.ts';
import type { Connection } from './connection.ts';

export class Presence {
  private readonly byUser = new Map<string, Connection[]>();

  isOnline(user: string): boolean {
    return this.byUser.has(user);
  }

  /** Adds an authenticated connection. Every add changes what presence says (a device or an address). */
  add(conn: Connection): void {
    const list = this.byUser.get(conn.user!) ?? [];
    list.push(conn);
    this.byUser.set(conn.user!, list);
  }

  /**
   * Removes a connection; true when that changed what presence says: the user went offline, a
   * device did, or the address listed for a device (not when a newer connection of it remains).
   */
  remove(conn: Connection): boolean {
    const user = conn.user;
    if (!user) return false;
    const before = this.byUser.get(user) ?? [];
    if (!before.includes(conn)) return false;
    const list = before.filter((c) => c !== conn);
    if (list.length) this.byUser.set(user, list);
    else this.byUser.delete(user);
    // A change when a device went, or its listed address did (an older connection of the same
    // device, on another port, is what remains).
    return list.length === 0 || JSON.stringify(devicesOf(before)) !== JSON.stringify(devicesOf(list));
  }

  /** The user's presence row: online while any device is, each device with its newest connection's address. */
  info(user: string, fingerprint: string): PeerInfo {
    const list = this.byUser.get(user);
    const latest = list?.[list.length - 1];
    if (!latest) return { user, online: false, fingerprint };
    return { user, online: true, address: latest.address, port: latest.peerPort, fingerprint, devices: devicesOf(list) };
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

/** One row per device, its newest connection's address, in the order the devices last connected. */
function devicesOf(list: readonly Connection[]): DeviceInfo[] {
  const newest = new Map<string, Connection>();
  for (const c of list) {
    newest.delete(c.device);
    newest.set(c.device, c);
  }
  return [...newest.values()].slice(-MAX_DEVICES_LISTED).map((c) => ({ device: c.device, address: c.address, port: c.peerPort, online: true }));
}
