// The life of a signed-in session inside the engine (engine.ts): begin it once signed in (the
// parts assembled by signed-session.ts, the listener open, rooms and mailbox caught up), bring it
// up to date when the tracker connection is resumed, apply what the tracker pushes, and shut it
// down. It owns the session's parts, the presence table and the work still under way, which
// shutdown lets finish for a moment so a message sent just before exit is not lost.

import type { PeerInfo, TrackerEvent } from '../protocol/tracker.ts';
import type { UserKeys } from './account.ts';
import { dispatchPeerMessage } from './peer-dispatch.ts';
import { assemble, quiesce, release, type SessionHost, type Signed } from './signed-session.ts';
import { onTrackerEvent, replacePresence } from './tracker-events.ts';
import type { SessionResult } from './tracker-session.ts';

/** How long shutdown waits for sends and mailbox rounds still under way (ms). */
const SHUTDOWN_SEND_GRACE_MS = 5000;

/** What the engine lends the session: its options, folder, tracker, clock, directory and events. */
export type LifecycleHost = Pick<SessionHost, 'opts' | 'data' | 'tracker' | 'now' | 'directory' | 'emit' | 'emitError' | 'report'> & {
  /** Ids of the rooms I am a member of and that are not closed (ChatEngine.joinedRooms). */
  joinedRooms: () => { id: string }[];
};

export class SessionLifecycle {
  private s?: Signed;
  /** Who is online where, as the tracker last said (replaced at sign-in and resume, changed by pushes). */
  private readonly presence = new Map<string, PeerInfo>();
  /** Work still under way (sends, mailbox rounds): shutdown lets it finish, briefly. */
  private readonly outgoing = new Set<Promise<void>>();

  constructor(private readonly host: LifecycleHost) {}

  /** The signed-in session's parts; undefined before sign-in and after shutdown. */
  get current(): Signed | undefined {
    return this.s;
  }

  /**
   * Starts the session the tracker opened (`session`) for `keys`, listening for peers on `port`
   * (0: any free one), and emits `ready`. On failure everything begun is undone (the engine reads
   * as logged out) and the error is thrown. `freePort` lets go of the port held since it was
   * picked (peer/sign-in.ts), right before listening on it.
   */
  async begin(session: SessionResult, keys: UserKeys, port: number, freePort: () => Promise<void> = async () => {}): Promise<void> {
    try {
      await this.beginNow(session, keys, port, freePort);
    } catch (err) {
      await freePort();
      // Half a start is worse than none: undo it so the engine reads as logged out.
      const s = this.s;
      this.s = undefined;
      await s?.pool.close().catch(() => {});
      await this.host.tracker.stop().catch(() => {});
      await s?.inbound.close().catch(() => {});
      s?.delivery.close();
      try {
        s?.store.db.close();
      } catch {
        // the sign-in's own error is the one to report
      }
      throw err;
    }
  }

  private async beginNow(session: SessionResult, me: UserKeys, port: number, freePort: () => Promise<void>): Promise<void> {
    const h = this.host;
    const s = await assemble({
      opts: h.opts, data: h.data, tracker: h.tracker, now: h.now, directory: h.directory, emit: h.emit, emitError: h.emitError, report: h.report,
      presence: this.presence,
      persist: () => this.persist(),
      track: (work) => this.track(work),
      onPeerMessage: (from, item) => (this.s ? dispatchPeerMessage(this.s, from, item) : undefined),
    }, session, me);
    this.s = s;
    const { pool, sync } = s;
    await freePort();
    await pool.listen(port, h.opts.peerHost ?? '0.0.0.0');
    this.applySession(session);
    await this.refreshDirectory();
    // Rooms whose file was missing or damaged are fetched again from the start.
    await sync.syncRooms([...session.rooms.map((r) => r.id), ...h.joinedRooms().map((r) => r.id), ...s.rooms.unloaded()]);
    this.persist();
    h.emit('ready', { port: pool.port });
    // Built in the background (in slices): the first search is then fast.
    this.track(s.search.warm().catch((err) => h.report(err)));
    this.catchUpAll(s);
  }

  /** The tracker connection came back (`session`: its view now): presence, rooms and mailbox are brought up to date. */
  async resumed(session: SessionResult): Promise<void> {
    const s = this.s;
    if (!s) return;
    this.applySession(session, true);
    await this.refreshDirectory();
    await s.sync.syncRooms([...session.rooms.map((r) => r.id), ...this.host.joinedRooms().map((r) => r.id)]);
    this.catchUpAll(s);
  }

  /**
   * The tail of a sign-in and of a resume: what waited for me is fetched (the tracker's mailbox,
   * catch-up from the peers online now), my own unsent messages are sent again, and my other
   * devices online are linked.
   */
  private catchUpAll(s: Signed): void {
    this.track(s.mailbox.collect());
    s.delivery.resumeAll();
    s.catchUp.reach([...this.presence.keys()]);
    // My other devices online: linked now, so catch-up runs both ways (they were told of this
    // device before it listened, so their dial may have failed).
    this.track(s.pool.sendWith(s.user, () => true).then(() => {}));
  }

  /** Applies one tracker push (tracker-events.ts); ignored when not signed in. Throws what the part it reaches throws. */
  async trackerEvent(e: TrackerEvent): Promise<void> {
    const s = this.s;
    if (!s) return;
    const h = this.host;
    await onTrackerEvent({ s, presence: this.presence, directory: h.directory, emitPresence: (p) => h.emit('presence', p), device: h.data.deviceId(), track: (w) => this.track(w) }, e);
  }

  /**
   * Stops the session: waits up to SHUTDOWN_SEND_GRACE_MS for work under way, quiesces the parts,
   * stops the tracker connection, saves the state and releases the parts. Also when not signed in
   * (then only the tracker connection stops).
   */
  async shutdown(): Promise<void> {
    if (this.outgoing.size) {
      // Work that finishing work starts (a second mailbox round) is waited for too, within the grace.
      let timer: NodeJS.Timeout | undefined;
      let graceOver = false;
      const grace = new Promise<void>((r) => (timer = setTimeout(() => r(void (graceOver = true)), SHUTDOWN_SEND_GRACE_MS)));
      while (this.outgoing.size && !graceOver) await Promise.race([Promise.allSettled([...this.outgoing]), grace]);
      clearTimeout(timer);
    }
    const s = this.s;
    if (s) await quiesce(s);
    await this.host.tracker.stop();
    if (s) {
      await release(s, (err) => this.host.report(err), () => {
        this.persist();
        return this.host.data.settle();
      });
    }
    this.s = undefined;
    this.presence.clear();
  }

  private track(work: Promise<void>): void {
    this.outgoing.add(work);
    void work.finally(() => this.outgoing.delete(work));
  }

  /** The tracker's view after a sign-in or a resume replaces ours; after a resume (`announce`) who came or went is told. */
  private applySession(session: SessionResult, announce = false): void {
    const changed = replacePresence(this.presence, this.host.directory, session, this.s?.user);
    if (announce) for (const p of changed) this.host.emit('presence', p);
  }

  private async refreshDirectory(): Promise<void> {
    const tracker = this.host.tracker;
    try {
      await this.host.directory.refresh(() => tracker.listRooms());
    } catch (err) {
      // Connection lost meanwhile: the next resume fetches again.
      if (tracker.state === 'online') this.host.report(err, 'the tracker');
    }
  }

  private persist(): void {
    const s = this.s;
    if (!s) return;
    // Serialized when written (batched), not on every change. Sender sessions are not in it:
    // received ones are in the session journal, my own live in memory only.
    this.host.data.saveState(s.user, () => ({ ...s.state, inbound: {} }));
  }
}
