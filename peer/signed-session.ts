// The parts that exist while a user is signed in, made and wired together in one place: the
// session (session-lifecycle.ts) keeps the value and drops it on shutdown. Each part owns its state; they
// reach each other only through what is passed here.

import type { ClientEvents } from '../protocol/client.ts';
import { messageId } from '../protocol/message-id.ts';
import { dmRoom, type ConversationId } from '../protocol/peer.ts';
import { MAX_SENT_SESSIONS, type RoomEvent, type RoomState } from '../protocol/room-log.ts';
import { deviceRoutes, type PeerInfo } from '../protocol/tracker.ts';
import type { UserKeys } from './account.ts';
import { CatchUp } from './catch-up.ts';
import { Conversations } from './conversations.ts';
import { Delivery } from './delivery.ts';
import { Gaps } from './gaps.ts';
import { Mailbox } from './mailbox.ts';
import type { DataFolder, EngineState } from './data-folder.ts';
import type { EngineOptions } from './engine.ts';
import { InboundSessions } from './inbound-sessions.ts';
import { KeyDirectory } from './key-directory.ts';
import { bundleSignatureValid } from './sender-keys.ts';
import { LinkPool, type DeviceAddress } from './link-pool.ts';
import { MessageActions } from './message-actions.ts';
import { RejoinResend } from './rejoin-resend.ts';
import { RoomBook } from './room-book.ts';
import { RoomCommands } from './room-commands.ts';
import type { RoomDirectory } from './room-directory.ts';
import { RoomMessages } from './room-messages.ts';
import { RoomSync, type InboxItem } from './room-sync.ts';
import { SearchIndex, type IndexedMessage } from './search-index.ts';
import { SentSessions } from './sent-sessions.ts';
import { SerialInbox } from './serial-inbox.ts';
import { Trust } from './trust.ts';
import type { SessionResult, TrackerSession } from './tracker-session.ts';

/** Messages from one peer waiting to be handled; beyond this the peer is flooding: drop its link. */
export const MAX_INCOMING_PER_PEER = 5000;
/** Members a refused close names (the rest are counted): a room may have a thousand. */
const MAX_NAMED_WAITING = 5;

/** Everything that exists while a user is signed in. */
export interface Signed {
  user: string;
  keys: UserKeys;
  state: EngineState;
  pins: KeyDirectory;
  rooms: RoomBook;
  conversations: Conversations;
  inbound: InboundSessions;
  pool: LinkPool;
  sync: RoomSync;
  messages: RoomMessages;
  commands: RoomCommands;
  trust: Trust;
  /** Each peer's messages, handled one at a time in arrival order. */
  inbox: SerialInbox<string, InboxItem>;
  /** The account's message store (history, held envelopes, outbox): closed at shutdown. */
  store: ReturnType<DataFolder['openStore']>;
  delivery: Delivery;
  catchUp: CatchUp;
  mailbox: Mailbox;
  /** Every shown message's current text, searchable (in memory only; built from the store). */
  search: SearchIndex;
  /** What reactions, edits, deletes and read receipts do to the messages they name. */
  actions: MessageActions;
  /** My deletes and edits sent again to a member who rejoins a room. */
  rejoins: RejoinResend;
}

/** What the engine lends the parts: its long-lived pieces and its channels out. */
export interface SessionHost {
  opts: EngineOptions;
  data: DataFolder;
  tracker: TrackerSession;
  now: () => number;
  presence: ReadonlyMap<string, PeerInfo>;
  directory: RoomDirectory;
  emit: (name: keyof ClientEvents, e: unknown) => void;
  emitError: (e: ClientEvents['error']) => void;
  report: (err: unknown, from?: string) => void;
  persist: () => void;
  track: (work: Promise<void>) => void;
  onPeerMessage: (from: string, item: InboxItem) => void | Promise<void>;
}

/** Loads the user's state and makes the parts (nothing listens on the network yet). */
export async function assemble(host: SessionHost, session: SessionResult, me: UserKeys): Promise<Signed> {
  const user = session.user;
  const state = host.data.loadState(user);
  const pins = new KeyDirectory(state.pins, async (users) => (await host.tracker.request('get_keys', { users })).keys);
  pins.pinOwn(user, session.identity);
  const roomLogs = host.data.roomLogs(user);
  roomLogs.onError = (err) => host.report(err);
  const rooms = new RoomBook(state.rooms, pins, roomLogs, () => host.persist());
  // A damaged room file is said by name; its room is fetched again (session-lifecycle.ts beginNow).
  for (const err of await rooms.load()) host.report(err);
  const conversations = new Conversations(rooms, () => user);
  // A journal that is missing or empty (a fresh device, or one lost or moved aside) records its
  // start, on disk before anything is shown: older messages are refused as possible replays.
  // Sessions an earlier version kept in state.json move to the journal.
  const inbound = new InboundSessions(host.data.sessionJournal(user), (err) => host.report(err), Object.values(state.inbound), false, host.now);
  const pool = new LinkPool(
    { user, device: host.data.deviceId(), signingKey: me.signing.privateKey },
    // A tracker error is thrown, not taken for "unknown user" (the pool caches unknown names).
    async (peer) => {
      await pins.ensure([peer]);
      return pins.signingKey(peer);
    },
    (peer) => addressOf(host, peer),
    {
      localKey: (peer) => pins.signingKey(peer),
      // The tracker answers a connection in order: once a request sent now is answered, every
      // presence event it sent us before (a peer's restart at a new address) has been applied.
      freshAddress: async (peer) => {
        try {
          await host.tracker.request('ping', {});
        } catch {
          return undefined;
        }
        return addressOf(host, peer);
      },
      ...(host.opts.linkLimits ? { limits: host.opts.linkLimits } : {}),
    },
  );
  const inbox = new SerialInbox<string, InboxItem>({
    handle: (from, item) => host.onPeerMessage(from, item),
    cap: MAX_INCOMING_PER_PEER,
    failed: (err, from) => host.report(err, from),
  });
  const store = host.data.openStore(user);
  // The loader runs once, on warm() or the first search; until then nothing is read.
  // Rooms left or closed are not searched (forgetRoom drops them from the index too).
  const search: SearchIndex = new SearchIndex((): Iterable<IndexedMessage> => actions.indexable((id) => conversations.find(id) !== undefined), { me: () => user });
  const actions: MessageActions = new MessageActions(store.history, search, store.db);
  // History before the replay record (room-messages.ts onEnvelope).
  inbound.beforeWrite = () => store.db.flush();
  const mailbox = new Mailbox({
    me: user, tracker: host.tracker, outbox: store.outbox, held: store.held,
    handle: (from, item) => host.onPeerMessage(from, item),
    // Shown (after the replay journal's sync) and stored: only then is a page acknowledged.
    durable: async () => {
      await new Promise<void>((resolve) => inbound.afterDurable(resolve));
      store.db.flush();
    },
    tell: (code, message) => host.emitError({ code, message }),
    report: (err, from) => host.report(err, from),
    track: (work) => host.track(work),
  });
  const delivery = new Delivery({
    outbox: store.outbox, now: host.now,
    // A link that opens starts catch-up both ways (pool 'linked' below): what they lack is sent.
    reach: (peer) => pool.sendWith(peer, () => true),
    online: (peer) => host.presence.get(peer)?.online === true,
    nameOf: (id) => conversations.find(id)?.name,
    unreachable: (peer) => mailbox.deposit(peer),
    withdrawFromMailbox: () => void mailbox.withdraw(),
    emit: (name, e) => host.emit(name, e),
    report: (err, from) => host.report(err, from),
  });
  const gaps = new Gaps((room, sender, missing) => host.emit('gap', { room: conversations.find(room)?.name ?? room, roomId: room, from: sender, missing }));
  const catchUp = new CatchUp({
    me: user, held: store.held, conversations, commit: () => store.db.flush(), now: host.now,
    peerHolds: (peer, room, session, seq) => delivery.holds(peer, room, session, seq),
    online: (peer) => host.presence.get(peer)?.online === true,
    signedByPinned: (bundle) => bundleSignatureValid(bundle, pins.signingKey(bundle.sender)),
    deletedTarget: (room, sender, session, seq) => {
      const action = store.history.get(room, messageId({ room, sender, session, seq }))?.action;
      const target = action?.t === 'delete' ? store.history.get(room, action.of) : undefined;
      return target?.from === sender && !target.action ? { session: target.session, seq: target.seq } : undefined;
    },
    linked: (peer) => pool.isLinked(peer),
    dial: (peer) => pool.sendWith(peer, () => true),
    withLink: (peer, use) => host.track(pool.sendWith(peer, (link) => (use(link), true)).then(() => {})),
    waiting: () => new Set(store.outbox.waitingUsers()),
    retry: (peer) => delivery.reachable(peer),
    report: (err, from) => host.report(err, from),
    track: (work) => host.track(work),
  });
  const sync = new RoomSync({
    rooms, conversations, keys: pins, tracker: host.tracker,
    signingKey: () => me.signing.privateKey,
    requeue: (from, items, skip) => inbox.pushFront(from, items, skip),
    applied: (event, before, after) => announce(host, signed, event, before, after),
    // A fork stops sending: on disk before it is told (a restart must not forget it).
    forked: (e) => {
      host.persist();
      host.data.flush();
      host.emit('room_forked', e);
    },
    persist: () => host.persist(),
    report: (err, from) => host.report(err, from),
  });
  const sentSessions = new SentSessions(store.db);
  const messages = new RoomMessages({
    me: { user, keys: me }, keys: pins, conversations, sync, pool, inbound, now: host.now,
    history: store.history, held: store.held, delivery, gaps, actions, commit: () => store.db.flush(),
    sessionStarted: (bundle) => sentSessions.record(bundle.room, bundle.session, bundle.head),
    askMembers: (room) => catchUp.askAgain(room),
    ownDevicesOnline: () => addressOf(host, user).some((d) => d.device !== undefined && d.device !== host.data.deviceId()),
    emit: (name, e) => {
      if (name === 'error') host.emitError(e as ClientEvents['error']);
      else host.emit(name, e);
    },
    report: (err, from) => host.report(err, from),
    track: (work) => host.track(work),
  });
  const rejoins = new RejoinResend({
    me: user, db: store.db, commit: () => store.db.flush(), rooms, conversations, history: store.history, actions,
    sessions: sentSessions, held: store.held,
    send: (conversation, text, extra) => messages.send(conversation, text, undefined, extra),
    report: (err) => host.report(err), track: (work) => host.track(work), now: host.now,
  });
  const commands = new RoomCommands({
    me: { user, keys: me }, rooms, conversations, sync, directory: host.directory, tracker: host.tracker, now: host.now,
    ...(host.opts.scryptParams ? { scryptParams: host.opts.scryptParams } : {}),
    left: (id) => forgetRoom(host, signed, id), persist: () => host.persist(),
    sent: (id, u) => store.held.lastSent(id, u, MAX_SENT_SESSIONS), unreached: (id) => store.outbox.unreached(id),
    waiting: (id) => store.outbox.waitingIn(id, MAX_NAMED_WAITING),
  });
  const trust = new Trust({
    me: user, keys: pins, tracker: host.tracker, presence: host.presence,
    // A newly accepted key must get fresh session keys: new sessions in shared conversations.
    accepted: (peer) => {
      for (const id of conversations.sharedWith(peer)) messages.rotate(id);
      messages.rotate(dmRoom(user, peer));
      host.persist();
    },
    error: (e) => host.emitError(e),
  });
  const signed: Signed = { user, keys: me, state, pins, rooms, conversations, inbound, pool, sync, messages, commands, trust, inbox, store, delivery, catchUp, mailbox, search, actions, rejoins };

  pins.on('key_changed', (change) => {
    const roomIds = conversations.sharedWith(change.user);
    host.emit('key_changed', { ...change, rooms: roomIds.map((id) => rooms.get(id)!.state.name), roomIds });
    host.persist();
  });
  // A pin guards what is shown from that key: on disk (synchronously, pins change rarely) before
  // anything it lets through is shown. Written later, a crash lost it, and the key was taken on
  // trust from the tracker again.
  pins.on('changed', () => {
    host.persist();
    host.data.flush();
  });
  pool.on('message', (from, msg, link) => {
    // One peer's messages are handled one at a time, in order: a session key must be in place
    // before the envelopes that need it. Too many waiting: the peer floods, its link goes.
    if (inbox.push(from, { msg, link })) return;
    link.close(new Error(`${from} sent more than ${MAX_INCOMING_PER_PEER} messages faster than they could be handled`));
    host.emitError({ code: 'server.busy', message: `closed the link from ${from}: it sent messages faster than they could be handled` });
  });
  pool.on('linked', (peer, link) => {
    sync.sendHeads(peer, link);
    catchUp.offer(peer, link);
    link.once('close', () => delivery.linkClosed(peer));
  });
  // Strangers' failed handshakes: a few one by one, the rest as one summary per interval.
  pool.on('refused', (d) => host.emitError({ code: d.code, message: `refused a peer link from ${d.address}: ${d.message}` }));
  pool.on('refused_summary', (summary) => host.emitError({ code: 'link.refused', message: summary.message }));
  pool.on('warning', (peer, err) => host.report(err, peer ?? 'the peer listener'));
  // Rooms are loaded and nothing new applied yet: rejoins left unhandled by a restart are handled.
  rejoins.start();
  return signed;
}

/**
 * Stops what sends on its own (retries, catch-up), lets the store take the last received
 * messages, acknowledges them and closes the links: messages shown in the last moments are
 * acknowledged before the links close, else their senders would wait for us until we are back.
 */
export async function quiesce(s: Signed): Promise<void> {
  s.rejoins.close();
  s.delivery.close();
  s.mailbox.close();
  s.catchUp.close();
  await s.inbound.nextWrite();
  s.messages.flushAcks();
  await s.pool.close();
}

/**
 * Closes the session journal and the store, runs `save` (the state file), then drops every
 * part's memory. `report` hears what failed to close.
 */
export async function release(s: Signed, report: (err: unknown) => void, save: () => Promise<void>): Promise<void> {
  await s.inbound.close().catch(report);
  try {
    s.store.db.close();
  } catch (err) {
    report(err);
  }
  await save();
  s.inbox.clear();
  s.sync.clear();
  s.messages.clear();
  s.conversations.forget();
}

/** Tells the user what a newly applied room event changed. */
function announce(host: SessionHost, s: Signed, event: RoomEvent, before: RoomState | null, after: RoomState): void {
  const room = after.name;
  const roomId = after.id;
  switch (event.type) {
    case 'join':
      host.emit('member_joined', { room, roomId, user: event.actor });
      // Someone back in the room: what I changed while they were out is sent to them (after this event's rotate below).
      if (event.actor !== s.user) s.rejoins.check(roomId);
      // Back in a room left or kicked from (forgetRoom): its stored history is searched again now, not after a restart.
      // A row that does not open is reported; the join stands (the next restart's build reads it again).
      if (event.actor === s.user) {
        try {
          s.search.restore(roomId, () => s.actions.indexableOf(roomId));
        } catch (err) {
          host.report(err);
        }
      }
      break;
    case 'leave':
      host.emit('member_left', { room, roomId, user: event.actor });
      if (event.actor !== s.user) s.delivery.memberGone(roomId, event.actor);
      break;
    case 'kick':
      host.emit('member_kicked', { room, roomId, user: event.subject!, by: event.actor });
      if (event.subject === s.user) forgetRoom(host, s, roomId);
      else s.delivery.memberGone(roomId, event.subject!);
      break;
    case 'close':
      host.emit('room_closed', { room, roomId, by: event.actor });
      forgetRoom(host, s, roomId);
      break;
  }
  if (before && before.owner !== after.owner) host.emit('owner_changed', { room, roomId, owner: after.owner });
  // Anyone who may read the next message changed: the next send starts a new session.
  if (event.type !== 'create') s.messages.rotate(roomId);
}

/** A room left, closed or kicked from: every part forgets it. */
export function forgetRoom(host: SessionHost, s: Signed, id: ConversationId): void {
  s.messages.forget(id);
  s.search.forget(id);
  // Sessions of the room go, but not the record that they were used: nothing made before this
  // head opens again, also after a rejoin.
  s.inbound.forgetRoom(id, s.rooms.get(id)?.state.head.seq ?? 0);
  s.sync.forget(id);
  s.rooms.forget(id);
  s.conversations.forget(id);
  host.persist();
}

/** Where each device of a peer listens, as the tracker's presence last said (protocol deviceRoutes). */
function addressOf(host: SessionHost, peer: string): DeviceAddress[] {
  return deviceRoutes(host.presence.get(peer));
}
