// Encrypted messages in conversations (DESIGN.md "Messages"): my outbound sender sessions and
// their bundles (which link has carried which key), sending and delivery counts; received
// bundles and envelopes checked against the one `Conversation` they name, decrypted, shown once
// their replay record is durable, and acknowledged in batches. Outbound sessions live in memory
// only: after a restart the next send starts a new session (nothing of them is written to disk).

import { HISTORY_PAGE_DEFAULT, type ClientEvents, type CommandResults, type HistoryMessage, type PendingMessage } from '../protocol/client.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { MAX_EDITS_NAMED, type MessageAction } from '../protocol/message-actions.ts';
import { messageId } from '../protocol/message-id.ts';
import { MAX_SKIPPED_KEYS_PER_SENDER, MAX_TEXT_BYTES, type ConversationId, type Envelope, type MessageBody, type PeerMessage, type SessionBundle } from '../protocol/peer.ts';
import { isBlankMessage } from '../protocol/text.ts';
import type { UserKeys } from './account.ts';
import { AckBatcher } from './acknowledgements.ts';
import { sentBefore, type Conversation, type Conversations } from './conversations.ts';
import type { Delivery } from './delivery.ts';
import type { Gaps } from './gaps.ts';
import type { HeldEnvelopes } from './held-envelopes.ts';
import type { History, PageCursor, StoredMessage } from './history.ts';
import { MAX_WAITING_FOR_DISK, type InboundSessions } from './inbound-sessions.ts';
import type { KeyDirectory } from './key-directory.ts';
import type { PeerLink } from './link.ts';
import { noteCarried } from './link-carried.ts';
import type { LinkPool } from './link-pool.ts';
import { isMailboxLink } from './mailbox.ts';
import type { MessageActions, MessageState, Told } from './message-actions.ts';
import type { RoomHead } from '../protocol/room-log.ts';
import type { RoomSync } from './room-sync.ts';
import { timelineTime } from './timeline-time.ts';
import { decryptEnvelope, encryptMessage, makeBundle, needsRotation, newOutboundSession, openBundle, type OutboundSession } from './sender-keys.ts';

const TRACE = Boolean(process.env.P2P_TRACE);
/** How far ahead of this device's clock a message's signed time may be. */
const MAX_FUTURE_MS = 24 * 3600 * 1000;

export interface RoomMessagesParts {
  me: { user: string; keys: UserKeys };
  keys: KeyDirectory;
  conversations: Conversations;
  sync: RoomSync;
  pool: LinkPool;
  inbound: InboundSessions;
  /** Every message shown or sent (history), and the envelopes and bundles held for catch-up. */
  history: History;
  held: HeldEnvelopes;
  delivery: Delivery;
  gaps: Gaps;
  /** What action messages do to the messages they name (and the search index's updates). */
  actions: MessageActions;
  /** Commits what the store wrote this turn: before an ack leaves, its message is on disk. */
  commit: () => void;
  /** A sending session of mine began (its bundle): where, for peer/rejoin-resend.ts (peer/sent-sessions.ts). */
  sessionStarted?: (bundle: SessionBundle) => void;
  /**
   * Asks the room's members linked now for what I lack of it (peer/catch-up.ts askAgain): what a
   * departed member's leave names is taken from them.
   */
  askMembers: (room: ConversationId) => void;
  /** Whether another device of mine is online now (the tracker lists it). */
  ownDevicesOnline: () => boolean;
  now: () => number;
  emit: <K extends 'message' | 'typing' | 'room_forked' | 'error' | 'reaction' | 'edited' | 'deleted' | 'read'>(name: K, e: ClientEvents[K]) => void;
  report: (err: unknown, from?: string) => void;
  /** A send still under way: shutdown lets it finish briefly. */
  track: (work: Promise<void>) => void;
}

export class RoomMessages {
  private readonly outbound = new Map<ConversationId, OutboundSession>();
  /** Per conversation: the current session's bundle and the links that have carried it. */
  private readonly bundles = new Map<ConversationId, { bundle: SessionBundle; message: PeerMessage; sentOn: WeakSet<PeerLink> }>();
  private readonly acks: AckBatcher;
  /**
   * Messages deleted by an envelope of this durable batch ("conversation\nid"): one that arrived
   * earlier in the same batch (catch-up brings a message and its delete together) is shown
   * deleted, its text never emitted. Each key leaves when its delete is shown.
   */
  private readonly deletedNow = new Set<string>();

  constructor(private readonly parts: RoomMessagesParts) {
    this.acks = new AckBatcher(() => parts.commit(), (err) => parts.report(err));
  }

  /**
   * Encrypts and sends to every member but me whose key is not blocked. `extra`: the message it
   * answers, or the action it is (applied to my store at once; its text is empty but an edit's);
   * `notBefore` (ms): the signed time is at least this (an action dated after the state it changes).
   * Throws 'request.too_large', 'message.blank', 'room.invalid_event' (forked). Resolves once
   * handed to the links, not delivered.
   */
  async send(conversation: Conversation, text: string, snippet?: MessageBody['snippet'], extra?: { replyTo?: string; action?: MessageAction; notBefore?: number }): Promise<{ id: string; sentAt: number; recipients: number }> {
    const { me, keys, now } = this.parts;
    checkText(text + (snippet?.code ?? ''));
    // A delete names my edits of the message: members away close their holes (not served) with them.
    const edits = extra?.action?.t === 'delete' ? this.myEdits(conversation.id, extra.action.of) : [];
    let action: MessageAction | undefined = extra?.action?.t === 'delete' ? { t: 'delete' as const, of: extra.action.of, ...(edits.length ? { edits } : {}) } : extra?.action;
    if ((!action || action.t === 'edit') && isBlankMessage({ text, snippet })) {
      throw new ProtocolError('message.blank', 'the message is empty or only spaces and invisible characters; type something to send');
    }
    if (conversation.forked) throw new ProtocolError('room.invalid_event', `room ${conversation.name} has a forked history (members were shown different logs); sending is stopped until it is resolved`);
    const members = conversation.members.filter((u) => u !== me.user);
    await keys.ensure(members);
    const recipients: string[] = [];
    for (const u of members) {
      if (!keys.blocked(u)) recipients.push(u);
      else this.parts.emit('error', { code: 'key_changed', message: `not sending to ${u}: their key changed; compare fingerprints and run verify ${u}` });
    }
    const id = conversation.id;
    let session = this.outbound.get(id);
    let current = this.bundles.get(id);
    if (!session || !current || needsRotation(session, conversation.head, now())) {
      session = newOutboundSession(id, conversation.head, now());
      // Wrapped for me too: my other devices read what I send from here (one identity, many devices).
      const wraps = [...recipients.map((u) => ({ user: u, encryptionKey: keys.keys(u)!.encryptionKey })), { user: me.user, encryptionKey: me.keys.encryption.publicKey }];
      const bundle = makeBundle(session, me.user, me.keys.signing.privateKey, wraps);
      current = { bundle, message: { t: 'session', bundle }, sentOn: new WeakSet() };
      this.outbound.set(id, session);
      this.bundles.set(id, current);
      // Held from the first message on: catch-up and the mailbox serve it with its envelopes.
      this.parts.held.putBundle(bundle);
      this.parts.sessionStarted?.(bundle);
    }
    const to = recipients.filter((u) => current.bundle.wraps.some((w) => w.to === u));
    // A superseding action names my older ones it covers (their mailbox copies are withdrawn), so
    // members back from the mailbox alone do not count them missing: looked up before it is sealed.
    if (action && action.t !== 'delete') {
      const covers = this.parts.delivery.covered(id, action, to);
      if (covers.length) action = { ...action, covers };
    }
    const body: MessageBody = { id: messageId({ room: id, sender: me.user, session: session.session, seq: session.next }), time: Math.max(now(), extra?.notBefore ?? 0), text, ...(snippet ? { snippet } : {}), ...(extra?.replyTo ? { replyTo: extra.replyTo } : {}), ...(action ? { action } : {}) };
    const envelope = encryptMessage(session, me.user, me.keys.signing.privateKey, body);
    // Kept before it leaves: history shows it, the held copy serves catch-up, and the outbox
    // remembers who must still get it (all in this turn's one transaction).
    const { history, held, delivery } = this.parts;
    const row = { conversation: id, id: body.id, from: me.user, session: envelope.session, seq: envelope.seq, sentAt: body.time, text, ...(snippet ? { snippet } : {}), ...(extra?.replyTo ? { replyTo: extra.replyTo } : {}), ...(action ? { action } : {}) };
    history.add(row);
    // Mine apply here at once (a delete removes the text before it leaves); searchable at once.
    const applied = action ? this.parts.actions.applied(row, conversation) : undefined;
    if (applied) this.deletedAfter(conversation.id, applied.told);
    else this.parts.actions.arrived(row, conversation);
    held.putEnvelope(envelope, body.time);
    // After it is held: an edit of mine dead already (a modified client's) stays a tombstone.
    if (applied) this.deadEditsAfter(applied.dead);
    const sent = { room: id, roomName: conversation.name, id: body.id, session: envelope.session, seq: envelope.seq };
    delivery.sent({ ...sent, sentAt: body.time }, to, action);
    // Committed now (with the rest of this turn's writes) before it leaves and before the answer:
    // a message reported sent is in history and the outbox, whatever happens next. (Waiting for
    // the turn's commit instead measured slower: sends come one command at a time.)
    this.parts.commit();
    const message: PeerMessage = { t: 'envelope', envelope };
    for (const user of to) {
      if (!delivery.reachableNow(user)) {
        delivery.failed(user, sent);
        continue;
      }
      this.parts.track(
        this.deliver(user, envelope, message).then(
          (ok) => {
            if (!ok) delivery.failed(user, sent);
          },
          (err) => {
            delivery.failed(user, sent);
            this.parts.report(err, user);
          },
        ),
      );
    }
    // My other devices online now get it as theirs; one away catches up from here or from
    // members when it is back (catch-up.ts). Not in the outbox: "delivered" counts members.
    if (this.parts.pool.isLinked(me.user) || this.parts.ownDevicesOnline()) this.parts.track(this.deliver(me.user, envelope, message).then(() => {}));
    return { id: body.id, sentAt: body.time, recipients: to.length };
  }

  /** One page of stored history (engine.ts history); my own messages carry who they still wait for. */
  history(conversation: Conversation, opts: PageCursor & { limit?: number }): CommandResults['history'] {
    const cursor = { ...(opts.before !== undefined ? { before: opts.before } : {}), ...(opts.after !== undefined ? { after: opts.after } : {}), ...(opts.around !== undefined ? { around: opts.around } : {}) };
    const page = this.parts.history.page(conversation.id, { ...cursor, limit: opts.limit ?? HISTORY_PAGE_DEFAULT });
    const states = this.parts.actions.statesOf(conversation.id, page.messages);
    const messages: HistoryMessage[] = page.messages.map((m) => this.row(m, states.get(m.id)));
    // The newest page says what is still missing, so a gap is shown again after a restart.
    const gaps = Object.keys(cursor).length === 0 ? this.parts.held.missing(conversation.id, this.parts.me.user) : [];
    return { room: conversation.name, roomId: conversation.id, messages, more: page.more, newer: page.newer, ...(gaps.length ? { gaps } : {}) };
  }

  /** The newest `limit` messages of `conversation` carrying a snippet, oldest first, as history shows them (engine.ts snippetMessages). */
  withSnippets(conversation: Conversation, limit: number): HistoryMessage[] {
    const messages = this.parts.history.withSnippets(conversation.id, limit);
    const states = this.parts.actions.statesOf(conversation.id, messages);
    return messages.map((m) => this.row(m, states.get(m.id)));
  }

  /** One stored message as history shows it (`state` from MessageActions; none: no actions on it). */
  row(m: StoredMessage, state: MessageState | undefined): HistoryMessage {
    const mine = m.from === this.parts.me.user;
    const at = { room: m.conversation, session: m.session, seq: m.seq };
    const waitingFor = mine ? this.parts.delivery.waitingFor(at) : [];
    const notDelivered = mine ? this.parts.delivery.notDelivered(at) : [];
    const deleted = state?.deleted === true;
    return {
      id: m.id, from: m.from, text: deleted ? '' : state?.edited ?? m.text, sentAt: m.sentAt,
      ...(m.snippet && !deleted ? { snippet: m.snippet } : {}),
      ...(m.late ? { late: true } : {}),
      ...(waitingFor.length ? { waitingFor } : {}),
      ...(notDelivered.length ? { notDelivered } : {}),
      ...(m.replyTo ? { replyTo: m.replyTo } : {}),
      ...(state?.reactions.length ? { reactions: state.reactions } : {}),
      ...(state?.edited !== undefined && !deleted ? { edited: true } : {}),
      ...(deleted ? { deleted: true } : {}),
    };
  }

  /** My messages still waiting for members (engine.ts outbox). */
  pending(): PendingMessage[] {
    return this.parts.delivery.pending();
  }

  /** Ephemeral "is typing" to members with an open link; never stored. */
  typing(conversation: Conversation, active: boolean): void {
    for (const u of conversation.members) if (u !== this.parts.me.user) this.parts.pool.sendIfLinked(u, { t: 'typing', room: conversation.id, active });
  }

  /** Membership or a key changed: the next send starts a new session. */
  rotate(id: ConversationId): void {
    this.outbound.delete(id);
  }

  /** Sends the acks of this turn now (shutdown: the links are about to close). */
  flushAcks(): void {
    this.acks.flush();
  }

  /** A conversation left or closed: its session and bundle go, and nothing of it waits or is forwarded. */
  forget(id: ConversationId): void {
    this.outbound.delete(id);
    this.bundles.delete(id);
    this.parts.delivery.forget(id);
    this.parts.held.forget(id);
    this.parts.gaps.forget(id);
  }

  clear(): void {
    this.outbound.clear();
    this.bundles.clear();
    this.parts.gaps.forget();
  }

  onAck(from: string, msg: Extract<PeerMessage, { t: 'ack' }>): void {
    if (msg.sender !== this.parts.me.user) return;
    this.parts.delivery.acked(from, msg.room, msg.session, msg.seqs);
  }

  onTyping(from: string, msg: Extract<PeerMessage, { t: 'typing' }>): void {
    const conversation = this.parts.conversations.find(msg.room);
    if (conversation?.members.includes(from)) this.parts.emit('typing', { room: conversation.name, roomId: conversation.id, user: from, active: msg.active });
  }

  /**
   * A sender's session key, wrapped for me; refused unless both of us are members at its head. A
   * sender who left or was kicked since keeps their sessions: onEnvelope takes only their deletes.
   */
  async onBundle(from: string, bundle: SessionBundle, link: PeerLink, item: { msg: PeerMessage; link: PeerLink }): Promise<void> {
    const { me, keys, inbound, conversations, sync } = this.parts;
    const conversation = conversations.find(bundle.room);
    if (conversation && !conversation.direct) {
      await sync.compareHead(bundle.room, bundle.head, from, link);
      if (sync.park(bundle.room, bundle.head, from, item)) return;
    }
    if (inbound.has(bundle.room, bundle.sender, bundle.session)) return; // never reset a chain we hold: that would allow replays
    // Nor one that ended here (evicted, or from before we left the room): its keys were used.
    const ended = inbound.refusal(bundle);
    if (ended) throw new ProtocolError('session.ended', `refused a session key from ${bundle.sender}: ${ended}`);
    await keys.ensure([bundle.sender]);
    const senderKey = keys.signingKey(bundle.sender);
    if (!senderKey) throw new ProtocolError('user.not_found', `session from unknown user ${bundle.sender}`);
    if (keys.blocked(bundle.sender)) throw new ProtocolError('request.invalid', `ignored a session from ${bundle.sender}: their key changed; run verify ${bundle.sender}`);
    const now = conversations.find(bundle.room);
    const members = now && (await sync.membersAt(now, bundle.head));
    if (!now || !members) throw new ProtocolError('room.not_found', `session from ${from} for a room or head you do not hold`);
    if (!members.includes(bundle.sender) || !members.includes(me.user)) {
      throw new ProtocolError('room.not_member', `refused a session key from ${bundle.sender}: not a member at that log head`);
    }
    // From a member who left or was kicked since: only a session their leave (or kick) names.
    if (!now.direct && !now.members.includes(bundle.sender)) {
      const named = this.namedAtDeparture(bundle.room, bundle.sender, bundle.head, bundle.session, undefined, from, link);
      if (named === 'not_named') throw new ProtocolError('room.not_member', `refused a session key from ${bundle.sender}: a session started after they left ${now.name}`);
      if (named === 'from_leaver') return;
    }
    inbound.add(openBundle(bundle, { user: me.user, encryptionKey: me.keys.encryption.privateKey }, senderKey));
    // Kept to forward to members who were away (it carries a wrap for each of them).
    this.parts.held.putBundle(bundle);
  }

  /**
   * Whether a session (`seq` undefined) or an envelope of `sender`, who is no longer a member of
   * `room`, is something they sent before leaving: named in the `sent` of their leave or kick.
   * A kick's `sent` is the owner's word, of what they held: taken from anyone. A leave's is the
   * leaver's own: a modified client could name seqs it had not sent yet and go on posting after
   * leaving. So what a leave names is taken only from others (a member's catch-up; the tracker's
   * mailbox, which takes nothing from a departed member), and from the leaver's own link it is
   * 'from_leaver': the room's members are asked for it instead.
   */
  private namedAtDeparture(room: ConversationId, sender: string, head: RoomHead, session: string, seq: number | undefined, from: string, link: PeerLink): 'named' | 'from_leaver' | 'not_named' {
    const departure = this.parts.conversations.departure(room, sender, head);
    const sent = departure?.sent;
    if (!sent || (seq === undefined ? !sent.has(session) : !sentBefore(sent, { session, seq }))) return 'not_named';
    if (departure.by === 'kick' || from !== sender || isMailboxLink(link)) return 'named';
    this.parts.askMembers(room);
    return 'from_leaver';
  }

  /** Whether `action` is a delete of a message of `sender` held in `room` and not deleted yet. */
  private ownLiveTarget(room: ConversationId, sender: string, action: MessageAction | undefined): boolean {
    if (action?.t !== 'delete') return false;
    const target = this.parts.history.get(room, action.of);
    return !!target && !target.action && target.from === sender && !this.parts.actions.deleted(target);
  }

  /** A message: checked, decrypted, shown and acknowledged once its replay record is on disk. */
  async onEnvelope(from: string, env: Envelope, link: PeerLink, item: { msg: PeerMessage; link: PeerLink }): Promise<void> {
    const { me, keys, inbound, conversations, sync } = this.parts;
    let conversation = conversations.find(env.room);
    if (conversation && !conversation.direct && !(await sync.compareHead(env.room, env.head, from, link))) {
      conversation = conversations.find(env.room);
      if (conversation?.forked) throw new ProtocolError('room.invalid_event', `dropped a message in ${conversation.name} from ${env.sender}: the room's history is forked`);
    }
    if (sync.park(env.room, env.head, from, item)) return;
    // Already stored (a retry, or a second forwarder): acknowledged again (once stored: the ack
    // waits for the store's commit), shown once.
    if (this.parts.history.has(env.room, env.sender, env.session, env.seq)) {
      this.acks.add(link, env);
      return;
    }
    conversation = conversations.find(env.room);
    const members = conversation && (await sync.membersAt(conversation, env.head));
    if (!conversation || !members || !members.includes(env.sender) || !members.includes(me.user)) {
      throw new ProtocolError('room.not_member', `refused a message from ${env.sender}: not a member of that room at that log head`);
    }
    // A member who left or was kicked could still sign at an old head: from them only what their
    // leave (or kick) says they had sent by then (members away must still get it), and beyond it
    // a delete of their own message held here and not deleted yet (one removes text, never adds
    // any), checked once decrypted. Nothing else: it would let them go on talking in the room, and
    // grow every store (a row and a held envelope each), pushing out envelopes held for members away.
    const current = conversations.find(env.room) ?? conversation;
    const named = current.members.includes(env.sender) ? 'member' : this.namedAtDeparture(env.room, env.sender, env.head, env.session, env.seq, from, link);
    // Named by their own leave and sent straight by them: taken from the members who hold it instead
    // (asked now), never shown from the leaver; not acknowledged, not an error (an honest one still
    // on its way when the leave came looks the same).
    if (named === 'from_leaver') return;
    const departed = named === 'not_named';
    // Looked up when not pinned here: a crash may have lost the pin's write after the session's
    // journal line (a session key always comes with its sender's key: onBundle).
    await keys.ensure([env.sender]);
    const senderKey = keys.signingKey(env.sender);
    if (!senderKey) throw new ProtocolError('user.not_found', `a message from unknown user ${env.sender}`);
    const session = inbound.get(env.room, env.sender, env.session);
    if (!session) throw new ProtocolError('request.invalid', `a message from ${env.sender} arrived without its session key`);
    const body = decryptEnvelope(env, session, senderKey);
    inbound.changed(session);
    // Older than this device's replay records: it may have been shown before they began.
    inbound.requireAfterStart(env.sender, body.time);
    // The signed time still orders a sender's actions ("latest wins"): one far ahead would win
    // for ever. A day covers any honest clock.
    const arrived = this.parts.now();
    if (body.time > arrived + MAX_FUTURE_MS) {
      throw new ProtocolError('message.from_the_future', `did not show a message from ${env.sender} dated ${new Date(body.time).toISOString()}: more than a day ahead of this clock; ${env.sender}'s clock (or yours) is wrong`);
    }
    const action = body.action;
    if (departed && !this.ownLiveTarget(env.room, env.sender, action)) {
      conversations.requireCurrentMember(conversations.find(env.room) ?? conversation, env.sender);
    }
    // A modified client may send what ours refuses to: never shown, and not acknowledged.
    if (action && action.t !== 'edit') {
      if (body.text !== '' || body.snippet || body.replyTo) throw new ProtocolError('request.invalid', `ignored a ${action.t} from ${env.sender} that carries text`);
    } else if (isBlankMessage(body)) throw new ProtocolError('message.blank', `ignored a blank message from ${env.sender}`);
    else if (action && (body.snippet || body.replyTo)) throw new ProtocolError('request.invalid', `ignored an edit from ${env.sender} that carries a snippet or a reply`);
    const shown = conversation;
    // Stored now, in this turn's transaction, which commits before the replay journal's write
    // (inbound.beforeWrite): a crash at any point leaves the message either unused and not
    // stored (the sender sends it again) or stored (history has it; a copy is a duplicate).
    const { history, held, gaps } = this.parts;
    // A shown message goes in the timeline no later than it arrived (peer/timeline-time.ts): one
    // dated ahead would otherwise sort after, and its readers count as having read, all that
    // arrives until its date. An action is not placed in the timeline: it keeps its signed time,
    // which is what "latest wins" compares on every member alike.
    const sentAt = action ? body.time : timelineTime(body.time, arrived, history.nextOfSender(env.room, env.sender, env.session, env.seq));
    const stored = { conversation: env.room, id: body.id, from: env.sender, session: env.session, seq: env.seq, sentAt, text: body.text, ...(body.snippet ? { snippet: body.snippet } : {}), ...(body.replyTo ? { replyTo: body.replyTo } : {}), ...(action ? { action } : {}) };
    // Ids are derived from (room, sender, session, seq) (protocol/message-id.ts), checked when
    // decrypted: another row with this id is only a hash collision.
    const added = history.add(stored);
    if (!added) throw new ProtocolError('request.invalid', `a message from ${env.sender} has the id of another message here; it is not shown`);
    held.putEnvelope(env, this.parts.now());
    const { late } = added;
    // An action applies to its message (or waits for it); a message takes the actions that came first.
    let told: Told[];
    let dead: StoredMessage[] = [];
    let deleted = false;
    let edited: string | undefined;
    if (action) ({ told, dead } = this.parts.actions.applied(stored, shown));
    else ({ deleted, told, edited } = this.parts.actions.arrived(stored, shown));
    const gone = this.deletedAfter(env.room, told);
    this.deadEditsAfter(dead);
    for (const id of gone) if (id !== stored.id) this.deletedNow.add(`${env.room}\n${id}`);
    // A delete of a message never received here closes the gap it left (its id names its seq), and
    // the gaps its edits left (honest members serve none of them now; only claimed: closeHoles).
    const closed = action?.t === 'delete' ? this.closeHoles(env.room, env.sender, history.get(env.room, action.of) ? undefined : action.of, action.edits ?? []) : [];
    // A superseding action names the sender's older ones it covers (withdrawn from mailboxes): not missing here.
    const covered = action && action.t !== 'delete' && action.covers ? this.claimCovered(env, action.covers) : [];
    // Shown and acknowledged only once the used key's deletion is on disk: a crash after this
    // point cannot make the message new again (one sync per turn, however many arrived in it).
    inbound.afterDurable(() => {
      // With the message: a gap it opens or closes is told when it is shown.
      for (const c of closed) gaps.arrived(env.room, env.sender, c.session, c.seq, () => held.upTo(env.room, env.sender, c.session));
      for (const c of covered) gaps.passOver(env.room, env.sender, c.session, c.seqs, () => held.upTo(env.room, env.sender, c.session));
      gaps.arrived(env.room, env.sender, env.session, env.seq, () => held.upTo(env.room, env.sender, env.session));
      this.acks.add(link, env);
      for (const id of gone) this.deletedNow.delete(`${env.room}\n${id}`);
      if (!action) {
        // Left for the delete's own callback to remove: the edits between them look too.
        if (this.deletedNow.has(`${env.room}\n${stored.id}`)) deleted = true;
        this.parts.emit('message', {
          room: shown.name,
          roomId: env.room,
          from: env.sender,
          id: stored.id,
          // Edited before it came here: shown with its current text (the replaced one never is); `edited` follows.
          text: deleted ? '' : (edited ?? body.text),
          sentAt,
          direct: shown.direct,
          ...(late ? { late: true } : {}),
          ...(deleted ? { deleted: true } : {}),
          ...(body.replyTo ? { replyTo: body.replyTo } : {}),
          ...(body.snippet && !deleted ? { snippet: body.snippet } : {}),
        });
      }
      for (const t of told) {
        // Deleted later in this batch: its edited text is never shown (a reaction carries no text).
        if (t.name === 'edited' && this.deletedNow.has(`${env.room}\n${t.e.id}`)) continue;
        (this.parts.emit as (n: string, e: unknown) => void)(t.name, t.e);
      }
    });
    // Normally the next message is handled at once and shares the write; when the disk is slow,
    // this member's next messages wait for it (each waiting message holds its text in memory).
    if (inbound.waitingForDisk >= MAX_WAITING_FOR_DISK) await inbound.nextWrite();
  }

  /**
   * After actions were applied (`told`): each message deleted by them has its held envelope
   * dropped (catch-up never serves its ciphertext again) and, when mine, its outbox entry
   * withdrawn. Returns the ids deleted.
   */
  private deletedAfter(conversation: ConversationId, told: readonly Told[]): string[] {
    const ids: string[] = [];
    for (const t of told) {
      if (t.name !== 'deleted') continue;
      const target = this.parts.history.get(conversation, t.e.id);
      if (!target) continue;
      ids.push(target.id);
      this.parts.held.tombstone(conversation, target.from, target.session, target.seq, this.parts.now());
      if (target.from === this.parts.me.user) this.parts.delivery.withdrawn(conversation, target.session, target.seq);
    }
    return ids;
  }

  /**
   * After an action row was applied: the edits it made dead (`dead`, as MessageActions.applied
   * found and scrubbed them: a sender's edits of a message they deleted, the row itself when it is
   * such an edit) have their held envelopes tombstoned, so catch-up never serves an edited text of
   * a deleted message, and, when mine, their outbox entries withdrawn.
   */
  private deadEditsAfter(dead: readonly StoredMessage[]): void {
    const { held, delivery, me } = this.parts;
    for (const e of dead) {
      held.tombstone(e.conversation, e.from, e.session, e.seq, this.parts.now());
      if (e.from === me.user) delivery.withdrawn(e.conversation, e.session, e.seq);
    }
  }

  /**
   * `sender`'s delete names `deleted` (the message deleted, when not received here) and `edits`
   * (their edits of it, by their word): those that are holes in what is held of `sender`'s sessions
   * (ids are derived from coordinates, so a sender closes only holes of their own) close. The
   * deleted message's is tombstoned: it is deleted for every member alike, shown deleted if it
   * comes. An edit's is only claimed (HeldEnvelopes.claim): a modified client can name any message
   * of its own there to hide it from members who lack it, so catch-up still asks for it, a member
   * holding it serves it, and it is shown as what it is when it comes (only a real edit of the
   * deleted message is scrubbed); honest members hold only tombstones there and serve nothing.
   * Returns the holes closed, to close their gaps (neither is shown as missing).
   */
  private closeHoles(room: ConversationId, sender: string, deleted: string | undefined, edits: readonly string[]): { session: string; seq: number }[] {
    if (deleted === undefined && edits.length === 0) return [];
    const { held } = this.parts;
    const claimed = new Set(edits);
    const closed: { session: string; seq: number }[] = [];
    for (const h of held.holes(room, sender, MAX_SKIPPED_KEYS_PER_SENDER)) {
      const id = messageId({ room, sender, session: h.session, seq: h.seq });
      if (id === deleted) held.tombstone(room, sender, h.session, h.seq, this.parts.now());
      else if (claimed.has(id)) held.claim(room, sender, h.session, h.seq, this.parts.now());
      else continue;
      closed.push(h);
    }
    return closed;
  }

  /**
   * `env`'s action `covers` (protocol/message-actions.ts): its sender's older actions it supersedes.
   * Each named seq of the sender's own sessions (keyed by `env.sender`: nobody else's) that is a
   * hole inside what is held of its session is held as a claim (HeldEnvelopes.claim: history's
   * gaps count it as held; catch-up still asks each member for it once per run; one arriving takes
   * its place); seqs of `env.session` from `env.seq` on are passed over (an honest sender names
   * only what it sent before). Returns what gaps are to skip (also seqs beyond what is held).
   */
  private claimCovered(env: Envelope, covers: readonly { session: string; seqs: number[] }[]): { session: string; seqs: number[] }[] {
    const { held } = this.parts;
    const out: { session: string; seqs: number[] }[] = [];
    for (const c of covers) {
      const seqs = c.session === env.session ? c.seqs.filter((s) => s < env.seq) : c.seqs;
      if (seqs.length === 0) continue;
      out.push({ session: c.session, seqs });
      // Inside what is held only: a claim below the lowest held would count the seqs between as missing.
      const span = held.span(env.room, env.sender, c.session);
      if (!span) continue;
      for (const s of seqs) if (s > span.min && s < span.max) held.claim(env.room, env.sender, c.session, s, this.parts.now());
    }
    return out;
  }

  /** The ids of my edits of message `of` (the newest MAX_EDITS_NAMED), for the delete that names them. */
  private myEdits(conversation: ConversationId, of: string): string[] {
    return this.parts.history.actionsOn(conversation, of, ['edit'], { from: this.parts.me.user, limit: MAX_EDITS_NAMED }).map((e) => e.id);
  }

  /** Resolves false when no link to `user` could be opened (the outbox keeps it for them). */
  private async deliver(user: string, envelope: Envelope, message: PeerMessage): Promise<boolean> {
    if (TRACE) console.error(`[trace] ${this.parts.me.user} -> ${user}: envelope ${envelope.seq} linked=${this.parts.pool.isLinked(user)}`);
    const current = this.bundles.get(envelope.room);
    return this.parts.pool.sendWith(user, (link) => {
      // The session key goes first on every link that has not carried it: a key sent on a link
      // that then died never arrived.
      if (current && current.bundle.session === envelope.session && !current.sentOn.has(link)) {
        if (!link.send(current.message)) return false;
        current.sentOn.add(link);
      }
      if (!link.send(message)) return false;
      noteCarried(link, envelope); // catch-up on this link does not send it again
      return true;
    });
  }
}

function checkText(text: string): void {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_TEXT_BYTES) {
    throw new ProtocolError('request.too_large', `the message is ${bytes} bytes; the limit is ${MAX_TEXT_BYTES} bytes (64 KiB): split it or share a file instead`);
  }
}
