// The chat engine: one object with typed methods and typed events (protocol/client.ts), hosted
// unchanged by the terminal client and the VS Code extension. It owns the tracker session, the
// verified room logs, pinned identities, sender-key sessions and peer links, and persists what
// must survive a restart in its data folder. No `vscode` import here, ever.

import { createPublicKey } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import type { ClientEvents, MemberRow, PeerRow } from '../protocol/client.ts';
import { exportPrivateKey, fromBase64Url, importPrivateKey, randomBytes, toBase64Url } from '../protocol/crypto.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { normalizeRoomName, normalizeUserName } from '../protocol/names.ts';
import { isBlankMessage } from '../protocol/text.ts';
import { DM_HEAD, MAX_TEXT_BYTES, dmRoom, isDmRoom, type Envelope, type MessageBody, type PeerMessage, type SessionBundle } from '../protocol/peer.ts';
import { deriveRoomPasswordKeys, joinProof, signRoomEvent, type RoomEvent, type RoomHead, type RoomState, type UnsignedRoomEvent } from '../protocol/room-log.ts';
import type { PeerInfo, RoomSummary, TrackerEvent } from '../protocol/tracker.ts';
import { DEFAULT_TRACKER_PORT } from '../protocol/tracker.ts';
import {
  checkPasswordPolicy,
  createIdentityKeys,
  decryptKeyBlob,
  deriveAccountKeys,
  encryptKeyBlob,
  keysMatchIdentity,
  newAccountSalt,
  type ScryptParams,
  type UserKeys,
} from './account.ts';
import { AckBatcher, DeliveryCounts } from './acknowledgements.ts';
import { DataFolder, type AccountStore, type EngineState } from './data-folder.ts';
import { InboundSessions, MAX_WAITING_FOR_DISK } from './inbound-sessions.ts';
import { KeyDirectory } from './key-directory.ts';
import { LinkPool } from './link-pool.ts';
import type { LinkLimits } from '../protocol/peer.ts';
import type { PeerLink } from './link.ts';
import { RoomBook, type RoomView } from './room-book.ts';
import { RoomDirectory } from './room-directory.ts';
import {
  bundleSignatureValid,
  envelopeSignatureValid,
  SenderKeyError,
  decryptEnvelope,
  deserializeOutbound,
  encryptMessage,
  makeBundle,
  needsRotation,
  newOutboundSession,
  openBundle,
  serializeOutbound,
  type OutboundSession,
} from './sender-keys.ts';
import { TrackerSession, type SessionResult } from './tracker-session.ts';

export interface EngineOptions {
  /** Root of the data folder. */
  dataDir: string;
  /** Keep each account in `<dataDir>/<user>` (the terminal client's default folder layout). */
  perUserFolders?: boolean;
  tracker?: { host: string; port: number };
  /** Peer port to listen on; 0 picks a free one. */
  peerPort?: number;
  peerHost?: string;
  /** The port told to the tracker, when peers must reach this one through a forwarder; default the listening port. */
  advertisePort?: number;
  /** Asked for a tracker never seen before; default accepts and pins it (SSH accept-new). */
  trustTracker?: (fingerprint: string, address: string) => Promise<boolean> | boolean;
  /** Tests only: cheaper scrypt. Real clients always use SCRYPT_PARAMS. */
  scryptParams?: ScryptParams;
  backoffMs?: number[];
  now?: () => number;
  /** Where the resume token and private keys live; default the data folder (VS Code: SecretStorage). */
  accountStore?: AccountStore;
  /** Seals the state file at rest (VS Code keeps this key in SecretStorage). */
  atRestKey?: Buffer;
  /** Caps and budgets of peer-link admission; default LINK_LIMITS (protocol/peer.ts). Tests set them lower. */
  linkLimits?: Partial<LinkLimits>;
}

type EngineEvents = { [K in keyof ClientEvents]: [ClientEvents[K]] };

interface Me {
  user: string;
  keys: UserKeys;
}

const MAX_APPEND_RETRIES = 5;
/** Room events per `log` frame: a frame stays well under the 1 MiB peer limit. */
const LOG_CHUNK = 500;
const SHUTDOWN_SEND_GRACE_MS = 5000;
const MAX_PARKED_BYTES_PER_ROOM = 16 * 1024 * 1024;
/** Messages from one peer waiting to be handled; beyond this the peer is flooding: drop its link. */
const MAX_INCOMING_PER_PEER = 5000;

const TRACE = Boolean(process.env.P2P_TRACE);
/** A room id: the base64url SHA-256 of its create event. */
const ROOM_ID = /^[A-Za-z0-9_-]{43}$/;

export class ChatEngine extends EventEmitter<EngineEvents> {
  readonly data: DataFolder;
  private readonly accounts: AccountStore;
  private readonly tracker: TrackerSession;
  private readonly now: () => number;
  private me?: Me;
  private state?: EngineState;
  private keys?: KeyDirectory;
  private rooms?: RoomBook;
  private pool?: LinkPool;
  private readonly presence = new Map<string, PeerInfo>();
  /** user -> the last disagreement reported between the pin and the tracker's fingerprint ("pinned tracker"). */
  private readonly disagreements = new Map<string, string>();
  /** Rooms as the tracker last listed or pushed them. */
  private readonly roomDirectory = new RoomDirectory((rooms) => this.emit('directory_changed', { rooms }));
  private readonly outbound = new Map<string, OutboundSession>();
  /** Received sender sessions and their replay records, on disk before a message is shown. */
  private inbound?: InboundSessions;
  /** Per room: the current session's bundle and who has been sent it. */
  private readonly bundles = new Map<string, { bundle: SessionBundle; message: PeerMessage; sentOn: WeakSet<PeerLink> }>();
  private readonly deliveries = new DeliveryCounts();
  private readonly acks = new AckBatcher();
  /** Per room: a running catch-up with the tracker, so envelopes wait for it. */
  private readonly syncing = new Map<string, Promise<void>>();
  private readonly incoming = new Map<string, Promise<void>>();
  private readonly incomingCount = new Map<string, number>();
  private readonly parked = new Map<string, { from: string; msg: PeerMessage; link: PeerLink; size: number }[]>();
  /** Sends still under way; close() lets them finish (briefly) so a message sent just before exit is not lost. */
  private readonly outgoing = new Set<Promise<void>>();

  constructor(private readonly opts: EngineOptions) {
    super();
    this.now = opts.now ?? Date.now;
    this.data = new DataFolder(opts.dataDir, opts.perUserFolders ?? false, opts.atRestKey);
    this.accounts = opts.accountStore ?? this.data.accountStore();
    const tracker = opts.tracker ?? { host: '127.0.0.1', port: DEFAULT_TRACKER_PORT };
    this.tracker = new TrackerSession({
      ...tracker,
      pins: { get: (a) => this.data.trackerPin(a), set: (a, fp) => this.data.setTrackerPin(a, fp) },
      ...(opts.trustTracker ? { trustFirstUse: opts.trustTracker } : {}),
      ...(opts.backoffMs ? { backoffMs: opts.backoffMs } : {}),
    });
    this.tracker.on('state', (state, detail) => this.emit('connection', { state, detail }));
    this.tracker.on('event', (e) => void this.onTrackerEvent(e).catch((err) => this.report(err)));
    this.tracker.on('resumed', (s) => void this.onResumed(s).catch((err) => this.report(err)));
    this.tracker.on('ended', (why) => this.emitError({ code: 'auth.bad_token', message: why }));
  }

  get user(): string | undefined {
    return this.me?.user;
  }

  get peerPort(): number {
    return this.pool?.port ?? 0;
  }

  get trackerAddress(): string {
    return this.tracker.address;
  }

  get trackerFingerprint(): string | undefined {
    return this.tracker.fingerprint;
  }

  /** The pinned fingerprint of the configured tracker, if any. */
  get pinnedTrackerFingerprint(): string | undefined {
    return this.data.trackerPin(this.tracker.address);
  }

  /** "Forget Tracker Fingerprint": the next connection pins whatever the tracker presents. */
  forgetTrackerFingerprint(): void {
    this.data.setTrackerPin(this.tracker.address, undefined);
  }

  // ---- accounts --------------------------------------------------------------------------------

  async register(rawUser: string, password: string): Promise<void> {
    const user = normalizeUserName(rawUser);
    checkPasswordPolicy(password, user);
    await this.tracker.connect();
    const salt = newAccountSalt();
    const [derived, identityKeys] = await Promise.all([deriveAccountKeys(password, salt, this.opts.scryptParams), createIdentityKeys(user)]);
    await this.tracker.request('register', {
      user,
      salt: toBase64Url(salt),
      authKey: toBase64Url(derived.authKey),
      identity: identityKeys.identity,
      keyBlob: encryptKeyBlob(derived.keyKey, user, identityKeys),
    });
    this.data.setSalt(this.tracker.address, user, toBase64Url(salt));
  }

  async login(rawUser: string, password: string): Promise<void> {
    const user = normalizeUserName(rawUser);
    if (this.me) throw new ProtocolError('auth.already_authenticated', `already logged in as ${this.me.user}; log out first`);
    await this.tracker.connect();
    const { salt } = await this.tracker.request('prelogin', { user });
    const cached = this.data.salt(this.tracker.address, user);
    if (cached && cached !== salt) {
      throw new ProtocolError('auth.salt_changed', `the tracker gave a different salt for ${user} than before; if you changed your password on another machine, delete salts.json in ${this.data.root}, otherwise do not trust this tracker`);
    }
    const derived = await deriveAccountKeys(password, fromBase64Url(salt), this.opts.scryptParams);
    const port = await this.reservePort();
    const session = await this.tracker.start('login', { user, authKey: toBase64Url(derived.authKey), peerPort: this.opts.advertisePort ?? port });
    const keys = decryptKeyBlob(derived.keyKey, session.user, session.keyBlob);
    if (!keysMatchIdentity(keys, session.identity)) throw new ProtocolError('auth.bad_credentials', 'the tracker returned keys that do not match your identity');
    this.data.setSalt(this.tracker.address, user, salt);
    await this.accounts.save({ user: session.user, tracker: this.tracker.address, token: session.token, signingKey: toBase64Url(exportPrivateKey(keys.signing.privateKey)), encryptionKey: toBase64Url(exportPrivateKey(keys.encryption.privateKey)) });
    await this.begin(session, keys, port);
  }

  /** Resumes the account saved in the data folder with its token: no password. */
  async resume(rawUser?: string): Promise<boolean> {
    const saved = await this.accounts.load(rawUser ? normalizeUserName(rawUser) : undefined);
    if (!saved || saved.tracker !== this.tracker.address) return false;
    const signing = importPrivateKey(fromBase64Url(saved.signingKey));
    const encryption = importPrivateKey(fromBase64Url(saved.encryptionKey));
    const keys: UserKeys = {
      signing: { privateKey: signing, publicKey: createPublicKey(signing) },
      encryption: { privateKey: encryption, publicKey: createPublicKey(encryption) },
    };
    const port = await this.reservePort();
    let session: SessionResult;
    try {
      session = await this.tracker.start('resume', { token: saved.token, peerPort: this.opts.advertisePort ?? port });
    } catch (err) {
      if (err instanceof ProtocolError && err.code === 'auth.bad_token') {
        await this.accounts.forget(saved.user);
        await this.tracker.stop();
        return false;
      }
      throw err;
    }
    if (!keysMatchIdentity(keys, session.identity)) throw new ProtocolError('auth.bad_credentials', 'the saved keys do not match your identity on the tracker');
    await this.begin(session, keys, port);
    return true;
  }

  async logout(): Promise<void> {
    if (!this.me) return;
    const user = this.me.user;
    try {
      await this.tracker.request('logout', {});
    } catch {
      // Offline: the token stays valid on the tracker until it expires; it is forgotten here.
    }
    await this.accounts.forget(user);
    await this.shutdown();
  }

  /** Stops everything without logging out (the saved session resumes next time). */
  async close(): Promise<void> {
    await this.shutdown();
  }

  /** The pinned fingerprint; `changedTo` is the unacknowledged new one after a key change. */
  fingerprint(user?: string): { user: string; fingerprint: string; verified: boolean; changedTo?: string } {
    const me = this.requireMe();
    const who = user ? normalizeUserName(user) : me.user;
    const pin = this.keys!.get(who);
    if (!pin) throw new ProtocolError('user.not_found', `no key is known for ${who} yet; list the people or message them first`);
    return { user: who, fingerprint: pin.fingerprint, verified: pin.verified, ...(pin.changed ? { changedTo: pin.changed.fingerprint } : {}) };
  }

  /**
   * A user's fingerprint for the user to compare out of band (Verify Member, `fingerprint USER`):
   * the pinned one, or for a user never seen the key the tracker serves, fetched now. It never
   * marks anyone verified. A fetched key is pinned unverified, exactly as a first message would
   * pin it (trust on first use, nothing more): the fingerprint shown is then the key actually
   * used, and a different key served later shows as a key change instead of being pinned
   * silently by the next send. `changedTo` is a pending new key: the one verify() would accept.
   * Throws ProtocolError 'user.not_found' when the tracker knows no such user.
   */
  async lookupFingerprint(rawUser?: string): Promise<{ user: string; fingerprint: string; verified: boolean; changedTo?: string }> {
    const me = this.requireMe();
    const user = rawUser ? normalizeUserName(rawUser) : me.user;
    await this.keys!.ensure([user]);
    if (!this.keys!.get(user)) throw new ProtocolError('user.not_found', `the tracker knows no user named ${user}; check the spelling (list_peers shows who is registered)`);
    return this.fingerprint(user);
  }

  /**
   * Marks a user verified after comparing fingerprints out of band, accepting a pending key change.
   * `fingerprint` is the one shown to and compared by the user (lookupFingerprint, `fingerprint
   * USER`): the key must still be that one, else 'key.fingerprint_mismatch'. It is required: a
   * pinned key is not a key that was shown (ensure() pins silently on a first message, a join, a
   * bundle, and a lying tracker can have served a substitute there), so without it nothing is
   * marked ('request.invalid', or 'user.not_found' when no key is known at all).
   */
  async verify(rawUser: string, fingerprint?: string): Promise<{ user: string; fingerprint: string }> {
    this.requireMe();
    const user = normalizeUserName(rawUser);
    const how = `run fingerprint ${user}, compare what it shows with the fingerprint ${user} reads out from their own screen (their fingerprint command), then verify ${user} FINGERPRINT with the one you compared`;
    if (!fingerprint?.trim()) {
      if (!this.keys!.get(user)) throw new ProtocolError('user.not_found', `no key is known for ${user} yet: ${how}`);
      throw new ProtocolError('request.invalid', `verify needs the fingerprint you compared: ${how}`);
    }
    await this.keys!.ensure([user]);
    const pin = this.keys!.verify(user, fingerprint);
    // A newly accepted key must get fresh session keys: start new sessions in shared rooms.
    for (const room of this.roomsSharedWith(user)) this.outbound.delete(room);
    this.outbound.delete(dmRoom(this.me!.user, user));
    this.persist();
    return { user, fingerprint: pin.fingerprint };
  }

  // ---- directory -------------------------------------------------------------------------------

  /**
   * Everyone on the tracker, with the key this client holds for each: `fingerprint` is the pinned
   * one where there is a pin (the key messages are encrypted to and checked with, the one verify
   * compares), else the tracker's. `trackerFingerprint` is set when the tracker's presence
   * fingerprint differs from the pin (and from any pending change): the tracker and the pin
   * disagree, which is reported like a key change (an `error` event, code `key_changed`).
   */
  async listPeers(): Promise<PeerRow[]> {
    this.requireMe();
    // All pages: the tracker answers lists a page at a time.
    const peers = await this.tracker.listPeers();
    return peers.map((p) => {
      const pin = this.keys!.get(p.user);
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

  /**
   * Whether the fingerprint the tracker shows for `user` (presence, list_peers) differs from the
   * pin and from any pending change. The first time a given disagreement is seen it is reported
   * like a key change: the pin may be a substitute the tracker served to this client alone, or
   * the tracker shows a key it does not serve; either way, compare out of band before trusting.
   */
  private trackerKeyDisagrees(user: string, trackerFingerprint: string): boolean {
    if (!this.keys!.noticeFingerprint(user, trackerFingerprint)) return false;
    const pinned = this.keys!.get(user)!.fingerprint;
    const seen = `${pinned} ${trackerFingerprint}`;
    if (this.disagreements.get(user) !== seen) {
      this.disagreements.set(user, seen);
      this.emitError({
        code: 'key_changed',
        message: `the tracker shows ${user}'s key as ${trackerFingerprint}, but the key pinned here (and used for ${user}) is ${pinned}: the tracker and your pin disagree. Compare fingerprints with ${user} out of band (fingerprint ${user}) before trusting either, and do not verify ${user} until they match`,
      });
    }
    return true;
  }

  async listRooms(): Promise<RoomSummary[]> {
    this.requireMe();
    const rooms = await this.tracker.listRooms();
    this.roomDirectory.replace(rooms);
    return rooms;
  }

  listLinks(): { user: string; address: string; initiator: boolean }[] {
    return this.pool?.list() ?? [];
  }

  /**
   * A room's members: `fingerprint` is the pinned key, `changedTo` a pending key change, and
   * `trackerFingerprint` the tracker's presence fingerprint when it disagrees with the pin (see
   * listPeers).
   */
  members(roomRef: string): MemberRow[] {
    this.requireMe();
    const { state } = this.resolveRoom(roomRef);
    return [...state.members.keys()].map((user) => {
      const pin = this.keys!.get(user);
      const shown = this.presence.get(user)?.fingerprint;
      const disagrees = user !== this.me!.user && shown !== undefined && this.trackerKeyDisagrees(user, shown);
      return {
        user,
        owner: state.owner === user,
        verified: pin?.verified ?? false,
        online: user === this.me!.user || (this.presence.get(user)?.online ?? false),
        ...(pin ? { fingerprint: pin.fingerprint } : {}),
        ...(pin?.changed ? { changedTo: pin.changed.fingerprint } : {}),
        ...(disagrees ? { trackerFingerprint: shown } : {}),
      };
    });
  }

  joinedRooms(): { id: string; name: string; private: boolean; owner: string | null; members: number; forked: boolean }[] {
    return (this.rooms?.all() ?? [])
      .filter((r) => !r.state.closed && r.state.members.has(this.me!.user))
      .map((r) => ({ id: r.id, name: r.state.name, private: r.state.private, owner: r.state.owner, members: r.state.members.size, forked: Boolean(r.forked) }));
  }

  // ---- rooms -----------------------------------------------------------------------------------

  async createRoom(rawName: string, opts: { password?: string } = {}): Promise<{ id: string; name: string }> {
    const me = this.requireMe();
    const name = normalizeRoomName(rawName);
    const salt = toBase64Url(randomBytes(16));
    const isPrivate = opts.password !== undefined;
    if (isPrivate && !opts.password) throw new ProtocolError('request.invalid', 'a private room needs a password');
    const unsigned: UnsignedRoomEvent = { v: 1, room: '', seq: 0, prev: '', type: 'create', actor: me.user, time: this.now(), name, private: isPrivate, salt };
    const event = signRoomEvent(unsigned, me.keys.signing.privateKey);
    const pw = isPrivate ? await deriveRoomPasswordKeys(opts.password!, salt, this.opts.scryptParams) : undefined;
    const { room } = await this.tracker.request('create_room', { event, ...(pw ? { check: pw.check } : {}) });
    this.roomDirectory.update([room]);
    await this.rooms!.apply([event], pw?.proofKey);
    this.persist();
    return { id: room.id, name };
  }

  /** The room directory as the tracker last told it (no request); `directory_changed` tells of changes. */
  directory(): RoomSummary[] {
    return this.roomDirectory.list();
  }

  /**
   * Joins a room by id (no `list_rooms` request: the directory or the log names it) or by name
   * (one `list_rooms` with the name filter). Throws 'room.not_found', 'room.already_member',
   * 'room.bad_password'.
   */
  async joinRoom(ref: string, password?: string): Promise<{ id: string; name: string; members: string[] }> {
    const me = this.requireMe();
    const { summary, events } = await this.findRoom(ref);
    const name = summary.name;
    if (summary.member) throw new ProtocolError('room.already_member', `you are already in ${name}`);
    if (summary.private && !password) throw new ProtocolError('room.bad_password', `${name} is private: give its password`);
    const create = events[0];
    const pw = summary.private ? await deriveRoomPasswordKeys(password!, create.salt!, this.opts.scryptParams) : undefined;
    // The log's earlier private joins carry proofs under the password's key: a wrong password
    // fails here, before anything is sent.
    this.rooms!.forget(summary.id);
    try {
      await this.rooms!.apply(events, pw?.proofKey);
    } catch (err) {
      this.rooms!.forget(summary.id);
      if (err instanceof ProtocolError && err.code === 'room.bad_password') throw new ProtocolError('room.bad_password', `wrong password for ${name}`);
      throw err;
    }
    try {
      await this.appendOwn(summary.id, (head) => {
        const unsigned: UnsignedRoomEvent = { v: 1, room: summary.id, seq: head.seq + 1, prev: head.hash, type: 'join', actor: me.user, time: this.now() };
        return pw ? { ...unsigned, proof: joinProof(unsigned, pw.proofKey) } : unsigned;
      }, pw?.check);
    } catch (err) {
      this.rooms!.forget(summary.id);
      throw err;
    }
    const { state } = this.rooms!.get(summary.id)!;
    return { id: summary.id, name, members: [...state.members.keys()] };
  }

  /**
   * A room's summary and log by id (one `room_log`, which names the room) or by name (one
   * `list_rooms` with the name filter, then the log). Throws 'room.not_found'.
   */
  private async findRoom(ref: string): Promise<{ summary: RoomSummary; events: RoomEvent[] }> {
    if (ROOM_ID.test(ref)) {
      const { room, events } = await this.tracker.roomLog(ref, 0);
      this.roomDirectory.update([room]);
      return { summary: room, events };
    }
    const name = normalizeRoomName(ref);
    // One room by name, not every page of every room.
    const [summary] = await this.tracker.listRooms({ name });
    if (!summary) throw new ProtocolError('room.not_found', `there is no room named ${name}; list_rooms shows the rooms`);
    this.roomDirectory.update([summary]);
    return { summary, events: await this.fetchLog(summary.id, 0) };
  }

  async leaveRoom(roomRef: string): Promise<void> {
    const me = this.requireMe();
    const { id } = this.resolveRoom(roomRef);
    await this.appendOwn(id, (head) => ({ v: 1, room: id, seq: head.seq + 1, prev: head.hash, type: 'leave', actor: me.user, time: this.now() }));
    this.forgetRoom(id);
  }

  async kick(roomRef: string, rawUser: string): Promise<void> {
    const me = this.requireMe();
    const subject = normalizeUserName(rawUser);
    const { id, state } = this.resolveRoom(roomRef);
    if (state.owner !== me.user) throw new ProtocolError('room.not_owner', `only the owner of ${state.name} (${state.owner}) can kick`);
    if (!state.members.has(subject)) throw new ProtocolError('room.not_member', `${subject} is not in ${state.name}`);
    await this.appendOwn(id, (head) => ({ v: 1, room: id, seq: head.seq + 1, prev: head.hash, type: 'kick', actor: me.user, subject, time: this.now() }));
  }

  async closeRoom(roomRef: string): Promise<void> {
    const me = this.requireMe();
    const { id, state } = this.resolveRoom(roomRef);
    if (state.owner !== me.user) throw new ProtocolError('room.not_owner', `only the owner of ${state.name} (${state.owner}) can close it`);
    await this.appendOwn(id, (head) => ({ v: 1, room: id, seq: head.seq + 1, prev: head.hash, type: 'close', actor: me.user, time: this.now() }));
  }

  // ---- messages --------------------------------------------------------------------------------

  /** Sends to a room (by name or id) or, with `dm:` or via sendDirect, to one user. */
  async sendRoom(roomRef: string, text: string, snippet?: MessageBody['snippet']): Promise<{ id: string; sentAt: number; recipients: number }> {
    const me = this.requireMe();
    checkText(text + (snippet?.code ?? ''));
    if (isBlankMessage({ text, snippet })) {
      throw new ProtocolError('message.blank', 'the message is empty or only spaces and invisible characters; type something to send');
    }
    const target = isDmRoom(roomRef) ? this.dmTarget(roomRef) : this.resolveRoom(roomRef);
    if (target.forked) throw new ProtocolError('room.invalid_event', `room ${target.name} has a forked history (members were shown different logs); sending is stopped until it is resolved`);
    const members = [...target.members].filter((u) => u !== me.user);
    await this.keys!.ensure(members);
    const blocked = members.filter((u) => this.keys!.blocked(u));
    for (const u of blocked) this.emitError({ code: 'key_changed', message: `not sending to ${u}: their key changed; compare fingerprints and run verify ${u}` });
    const recipients = members.filter((u) => !this.keys!.blocked(u));

    let session = this.outbound.get(target.id);
    if (!session || needsRotation(session, target.head, this.now())) {
      session = newOutboundSession(target.id, target.head, this.now());
      const bundle = makeBundle(session, me.user, me.keys.signing.privateKey, recipients.map((u) => ({ user: u, encryptionKey: this.keys!.keys(u)!.encryptionKey })));
      this.outbound.set(target.id, session);
      this.bundles.set(target.id, { bundle, message: { t: 'session', bundle }, sentOn: new WeakSet() });
    }
    const body: MessageBody = { id: toBase64Url(randomBytes(12)), time: this.now(), text, ...(snippet ? { snippet } : {}) };
    const envelope = encryptMessage(session, me.user, me.keys.signing.privateKey, body);
    this.persist();
    const current = this.bundles.get(target.id)!;
    const wrapped = new Set(current.bundle.wraps.map((w) => w.to));
    const to = recipients.filter((u) => wrapped.has(u));
    this.deliveries.sent(envelope, target.name, body.id, to.length);
    const message: PeerMessage = { t: 'envelope', envelope };
    for (const user of to) this.track(this.deliver(user, target.id, envelope, message).catch((err) => this.report(err, user)));
    return { id: body.id, sentAt: body.time, recipients: to.length };
  }

  sendDirect(rawUser: string, text: string): Promise<{ id: string; sentAt: number; recipients: number }> {
    const me = this.requireMe();
    const user = normalizeUserName(rawUser);
    if (user === me.user) throw new ProtocolError('request.invalid', 'you cannot message yourself');
    return this.sendRoom(dmRoom(me.user, user), text);
  }

  /** Ephemeral "is typing" to members with an open link; never stored. */
  typing(roomRef: string, active: boolean): void {
    const me = this.requireMe();
    const target = isDmRoom(roomRef) ? this.dmTarget(roomRef) : this.resolveRoom(roomRef);
    for (const u of target.members) if (u !== me.user) this.pool!.sendIfLinked(u, { t: 'typing', room: target.id, active });
  }

  // ---- internals: session start and stop -------------------------------------------------------

  private async begin(session: SessionResult, keys: UserKeys, port: number): Promise<void> {
    try {
      await this.beginNow(session, keys, port);
    } catch (err) {
      // Half a start is worse than none: undo it so the engine reads as logged out.
      await this.pool?.close().catch(() => {});
      await this.tracker.stop().catch(() => {});
      await this.inbound?.close().catch(() => {});
      this.inbound = undefined;
      this.pool = undefined;
      this.me = undefined;
      throw err;
    }
  }

  private async beginNow(session: SessionResult, keys: UserKeys, port: number): Promise<void> {
    const user = session.user;
    this.me = { user, keys };
    this.state = this.data.loadState(user);
    this.keys = new KeyDirectory(this.state.pins, async (users) => (await this.tracker.request('get_keys', { users })).keys);
    this.keys.pinOwn(user, session.identity);
    this.keys.on('key_changed', (change) => {
      const roomIds = this.roomsSharedWith(change.user);
      const rooms = roomIds.map((id) => this.rooms!.get(id)!.state.name);
      this.emit('key_changed', { ...change, rooms, roomIds });
      this.persist();
    });
    this.keys.on('changed', () => this.persist());
    this.rooms = new RoomBook(this.state.rooms, this.keys);
    await this.rooms.load();
    for (const [room, saved] of Object.entries(this.state.outbound)) this.outbound.set(room, deserializeOutbound(saved));
    // Sessions an earlier version kept in state.json move to the journal (written before state.json drops them).
    // A journal that is missing or empty (a fresh device, or one lost or moved aside) records
    // its start, on disk before anything is shown: older messages are refused as possible replays.
    this.inbound = new InboundSessions(this.data.sessionJournal(user), (err) => this.report(err), Object.values(this.state.inbound), false, this.now);
    // Sessions whose bundle we no longer hold are rotated on the next send.
    for (const room of this.outbound.keys()) if (!this.bundles.has(room)) this.outbound.delete(room);

    this.pool = new LinkPool(
      { user, signingKey: keys.signing.privateKey },
      // A tracker error is thrown, not taken for "unknown user" (the pool caches unknown names).
      async (peer) => {
        await this.keys!.ensure([peer]);
        return this.keys!.signingKey(peer);
      },
      (peer) => {
        const p = this.presence.get(peer);
        return p?.online && p.address && p.port ? { host: p.address, port: p.port } : undefined;
      },
      { localKey: (peer) => this.keys!.signingKey(peer), ...(this.opts.linkLimits ? { limits: this.opts.linkLimits } : {}) },
    );
    // One peer's messages are handled one at a time, in order: a session key must be in place
    // before the envelopes that need it.
    this.pool.on('message', (from, msg, link) => {
      const waiting = (this.incomingCount.get(from) ?? 0) + 1;
      if (waiting > MAX_INCOMING_PER_PEER) {
        link.close(new Error(`${from} sent more than ${MAX_INCOMING_PER_PEER} messages faster than they could be handled`));
        this.emitError({ code: 'server.busy', message: `closed the link from ${from}: it sent messages faster than they could be handled` });
        return;
      }
      this.incomingCount.set(from, waiting);
      const run = (this.incoming.get(from) ?? Promise.resolve())
        .then(() => this.onPeerMessage(from, msg, link))
        .catch((err) => this.report(err, from))
        .finally(() => this.incomingCount.set(from, (this.incomingCount.get(from) ?? 1) - 1));
      this.incoming.set(from, run);
      void run.then(() => {
        if (this.incoming.get(from) === run) this.incoming.delete(from);
      });
    });
    this.pool.on('linked', (peer, link) => this.onLinked(peer, link));
    // Strangers' failed handshakes: a few one by one, the rest as one summary per interval.
    this.pool.on('refused', (d) => this.emitError({ code: d.code, message: `refused a peer link from ${d.address}: ${d.message}` }));
    this.pool.on('refused_summary', (s) => this.emitError({ code: 'link.refused', message: s.message }));
    await this.pool.listen(port, this.opts.peerHost ?? '0.0.0.0');
    this.applySession(session);
    await this.syncRooms(session.rooms);
    this.persist();
    this.emit('ready', { port: this.pool.port });
  }

  private track(work: Promise<void>): void {
    this.outgoing.add(work);
    void work.finally(() => this.outgoing.delete(work));
  }

  private async shutdown(): Promise<void> {
    if (this.outgoing.size) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.outgoing]), new Promise((r) => (timer = setTimeout(r, SHUTDOWN_SEND_GRACE_MS)))]);
      clearTimeout(timer);
    }
    await this.pool?.close();
    await this.tracker.stop();
    await this.inbound?.close().catch((err) => this.report(err));
    this.inbound = undefined;
    if (this.me && this.state) {
      this.persist();
      await this.data.settle();
    }
    this.me = undefined;
    this.pool = undefined;
    this.presence.clear();
    this.outbound.clear();
    this.bundles.clear();
    this.deliveries.clear();
  }

  private applySession(session: SessionResult): void {
    this.presence.clear();
    for (const p of session.peers) this.presence.set(p.user, p);
    this.roomDirectory.update(session.rooms);
  }

  private async onResumed(session: SessionResult): Promise<void> {
    this.applySession(session);
    await this.syncRooms(session.rooms);
  }

  /** Catches every room we are in up with the tracker's log. */
  private async syncRooms(rooms: RoomSummary[]): Promise<void> {
    const ids = new Set([...rooms.map((r) => r.id), ...this.joinedRooms().map((r) => r.id)]);
    for (const id of ids) await this.syncRoom(id).catch((err) => this.report(err));
  }

  private syncRoom(id: string): Promise<void> {
    const running = this.syncing.get(id);
    if (running) return running;
    const run = (async () => {
      const room = this.rooms!.get(id);
      const from = room ? room.state.head.seq + 1 : 0;
      let events: RoomEvent[];
      try {
        events = await this.fetchLog(id, from);
      } catch (err) {
        if (err instanceof ProtocolError && err.code === 'room.not_found' && room && !room.state.closed) {
          return; // closed or deleted: the room_event push tells us which
        }
        throw err;
      }
      await this.applyRoomEvents(events);
    })().finally(() => this.syncing.delete(id));
    this.syncing.set(id, run);
    return run;
  }

  // ---- internals: room logs --------------------------------------------------------------------

  /** A room's log from `from` to its head: the tracker answers a page at a time. */
  private async fetchLog(id: string, from: number): Promise<RoomEvent[]> {
    return (await this.tracker.roomLog(id, from)).events;
  }

  /** Signs and appends my own event on the current head, re-signing if another won the race. */
  private async appendOwn(id: string, build: (head: RoomHead) => UnsignedRoomEvent, check?: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const room = this.rooms!.get(id);
      if (!room) throw new ProtocolError('room.not_found', 'you are not in that room');
      const event = signRoomEvent(build(room.state.head), this.me!.keys.signing.privateKey);
      try {
        await this.tracker.request('append', { event, ...(check ? { check } : {}) });
        await this.applyRoomEvents([event]);
        return;
      } catch (err) {
        if (!(err instanceof ProtocolError) || err.code !== 'room.stale_head' || attempt >= MAX_APPEND_RETRIES) throw err;
        await this.syncRoom(id);
      }
    }
  }

  /** Verifies and applies events, and tells the user what changed. */
  private async applyRoomEvents(events: RoomEvent[]): Promise<void> {
    let applied;
    try {
      applied = await this.rooms!.apply(events);
    } catch (err) {
      if (err instanceof ProtocolError && err.code === 'room.invalid_event' && /different events/.test(err.message)) {
        const id = events[0].room;
        const seq = events[0].seq;
        this.rooms!.markForked(id, { seq, mine: '', theirs: '', from: 'tracker' });
        this.emit('room_forked', { room: this.rooms!.get(id)?.state.name ?? id, roomId: id, seq, detail: err.message, withheld: false });
        return;
      }
      throw err;
    }
    for (const { event, before, after } of applied) this.announce(event, before, after);
    if (applied.length) {
      this.persist();
      for (const room of new Set(applied.map((a) => a.after.id))) await this.unpark(room);
    }
  }

  /**
   * A session key or message made at a log head we do not hold yet waits here until the events
   * that lead to it arrive (from the tracker, or from the member we asked: DESIGN.md "a client that
   * sees a newer head fetches the missing events"); then it is handled in arrival order.
   */
  private park(roomId: string, head: RoomHead, from: string, msg: PeerMessage, link: PeerLink): boolean {
    if (isDmRoom(roomId)) return false;
    const room = this.rooms!.get(roomId);
    if (!room || room.forked || head.seq <= room.state.head.seq) return false;
    // Only a current member's own signed words may wait, and only so much of them: parking is
    // memory a stranger must not be able to fill.
    const sender = msg.t === 'session' ? msg.bundle.sender : msg.t === 'envelope' ? msg.envelope.sender : from;
    this.requireCurrentMember(roomId, sender);
    const key = this.keys!.signingKey(sender);
    const signed = msg.t === 'session' ? bundleSignatureValid(msg.bundle, key) : msg.t === 'envelope' ? envelopeSignatureValid(msg.envelope, key) : false;
    if (!signed) throw new ProtocolError('room.bad_signature', `dropped a message for ${room.state.name} claiming to be from ${sender}: bad signature`);
    const size = JSON.stringify(msg).length;
    const list = this.parked.get(roomId) ?? [];
    const held = list.reduce((n, p) => n + p.size, 0);
    if (held + size > MAX_PARKED_BYTES_PER_ROOM) throw new ProtocolError('server.busy', `too many messages in ${room.state.name} wait for room events that have not arrived; dropped one from ${from}`);
    list.push({ from, msg, link, size });
    this.parked.set(roomId, list);
    return true;
  }

  private async unpark(roomId: string): Promise<void> {
    const list = this.parked.get(roomId);
    if (!list?.length) return;
    this.parked.delete(roomId);
    for (const { from, msg, link } of list) await this.onPeerMessage(from, msg, link).catch((err) => this.report(err, from));
  }

  private announce(event: RoomEvent, before: RoomState | null, after: RoomState): void {
    const room = after.name;
    const roomId = after.id;
    const me = this.me!.user;
    switch (event.type) {
      case 'join':
        this.emit('member_joined', { room, roomId, user: event.actor });
        break;
      case 'leave':
        this.emit('member_left', { room, roomId, user: event.actor });
        break;
      case 'kick':
        this.emit('member_kicked', { room, roomId, user: event.subject!, by: event.actor });
        if (event.subject === me) this.forgetRoom(after.id);
        break;
      case 'close':
        this.emit('room_closed', { room, roomId, by: event.actor });
        this.forgetRoom(after.id);
        break;
    }
    if (before && before.owner !== after.owner) this.emit('owner_changed', { room, roomId, owner: after.owner });
    // Anyone who may read the next message changed: the next send starts a new session.
    if (event.type !== 'create') this.outbound.delete(after.id);
  }

  private forgetRoom(id: string): void {
    this.outbound.delete(id);
    this.bundles.delete(id);
    // Sessions of the room go, but not the record that they were used: nothing made before this
    // head opens again, also after a rejoin.
    this.inbound!.forgetRoom(id, this.rooms!.get(id)?.state.head.seq ?? 0);
    this.parked.delete(id);
    this.rooms!.forget(id);
    this.persist();
  }

  private async onTrackerEvent(e: TrackerEvent): Promise<void> {
    if (!this.me) return;
    switch (e.event) {
      case 'presence': {
        const before = this.presence.get(e.user);
        this.presence.set(e.user, e);
        // A new address means the peer restarted: its old links are dead. Going offline at the
        // tracker does not end a link that still works (the tracker may be the one in trouble).
        if (before && e.online && (before.address !== e.address || before.port !== e.port)) this.pool?.drop(e.user);
        if (this.keys!.noticeFingerprint(e.user, e.fingerprint)) {
          await this.keys!.refresh([e.user]);
          // Still different after get_keys: the tracker serves one key and shows another.
          this.trackerKeyDisagrees(e.user, e.fingerprint);
        }
        if (e.user !== this.me.user && before?.online !== e.online) this.emit('presence', { user: e.user, online: e.online });
        return;
      }
      case 'room_event': {
        this.roomDirectory.update([e.room]);
        const known = this.rooms!.get(e.room.id);
        const mine = e.entry.actor === this.me.user || e.entry.subject === this.me.user;
        if (!known && !mine) return;
        if (known && e.entry.seq === known.state.head.seq + 1) await this.applyRoomEvents([e.entry]);
        else if (known) await this.syncRoom(e.room.id);
        return;
      }
      case 'room_listed':
        this.roomDirectory.update([e.room]);
        return;
      case 'closing':
        return;
    }
  }

  // ---- internals: peer messages ----------------------------------------------------------------

  private onLinked(peer: string, link: PeerLink): void {
    // First thing on every link: our heads of the rooms we share, so forks show at once.
    const heads = this.roomsSharedWith(peer).map((id) => ({ room: id, head: this.rooms!.get(id)!.state.head }));
    link.send({ t: 'heads', heads });
  }

  private async deliver(user: string, room: string, envelope: Envelope, message: PeerMessage = { t: 'envelope', envelope }): Promise<void> {
    if (TRACE) console.error(`[trace] ${this.me?.user} -> ${user}: envelope ${envelope.seq} linked=${this.pool?.isLinked(user)}`);
    const current = this.bundles.get(room);
    await this.pool!.sendWith(user, (link) => {
      // The session key goes first on every link that has not carried it: a key sent on a link
      // that then died never arrived.
      if (current && current.bundle.session === envelope.session && !current.sentOn.has(link)) {
        if (!link.send(current.message)) return false;
        current.sentOn.add(link);
      }
      return link.send(message);
    });
  }

  private async onPeerMessage(from: string, msg: PeerMessage, link: PeerLink): Promise<void> {
    if (!this.me) return;
    if (TRACE) console.error(`[trace] ${this.me.user} <- ${from}: ${msg.t}`);
    switch (msg.t) {
      case 'session':
        return this.onBundle(from, msg.bundle, link);
      case 'envelope':
        return this.onEnvelope(from, msg.envelope, link);
      case 'ack':
        if (msg.sender !== this.me.user) return;
        for (const d of this.deliveries.acked(from, msg)) this.emit('delivered', d);
        return;
      case 'typing': {
        const target = this.targetFor(msg.room);
        if (target && target.members.includes(from)) this.emit('typing', { room: target.name, roomId: target.id, user: from, active: msg.active });
        return;
      }
      case 'heads':
        for (const { room, head } of msg.heads) await this.compareHead(room, head, from, link);
        return;
      case 'log_request': {
        const room = this.rooms!.get(msg.room);
        if (!room || !room.events.some((e) => e.actor === from || e.subject === from)) return;
        for (let from = msg.from; from < room.events.length; from += LOG_CHUNK) {
          link.send({ t: 'log', room: msg.room, events: room.events.slice(from, from + LOG_CHUNK) });
        }
        return;
      }
      case 'log': {
        const room = this.rooms!.get(msg.room);
        if (!room) return;
        const before = room.state.head.seq;
        await this.applyRoomEvents(msg.events.filter((e) => e.seq > before));
        const after = this.rooms!.get(msg.room)?.state.head.seq ?? before;
        if (after > before) {
          // A member proved events the tracker did not give us: it withheld them.
          this.emit('room_forked', { room: room.state.name, roomId: msg.room, seq: before + 1, detail: `${from} showed signed events ${before + 1}..${after} that the tracker withheld; they are applied now`, withheld: true });
        }
        return;
      }
      case 'ping':
        return;
    }
  }

  /** A peer's head for a room: the same, behind us, ahead of us, or a different history. */
  private async compareHead(roomId: string, head: RoomHead, from: string, link: PeerLink): Promise<boolean> {
    if (isDmRoom(roomId)) return head.seq === DM_HEAD.seq && head.hash === DM_HEAD.hash;
    let room = this.rooms!.get(roomId);
    if (!room) return false;
    if (head.seq > room.state.head.seq) {
      await this.syncRoom(roomId);
      room = this.rooms!.get(roomId);
      if (!room) return false;
      if (head.seq > room.state.head.seq) {
        // The tracker does not have (or will not give) what this member holds: ask the member.
        link.send({ t: 'log_request', room: roomId, from: room.state.head.seq + 1 });
        return false;
      }
    }
    const mine = this.rooms!.hashAt(roomId, head.seq);
    if (mine !== head.hash) {
      if (!room.forked) {
        this.rooms!.markForked(roomId, { seq: head.seq, mine: mine ?? '', theirs: head.hash, from });
        this.emit('room_forked', { room: room.state.name, roomId, seq: head.seq, detail: `${from} holds a different event at seq ${head.seq}: the tracker showed you different histories; sending to this room stops`, withheld: false });
        this.persist();
      }
      return false;
    }
    if (head.seq < room.state.head.seq) {
      // They are behind: send what they miss (events are signed; no trust needed).
      for (let from = head.seq + 1; from < room.events.length; from += LOG_CHUNK) {
        link.send({ t: 'log', room: roomId, events: room.events.slice(from, from + LOG_CHUNK) });
      }
    }
    return true;
  }

  private async onBundle(from: string, bundle: SessionBundle, link?: PeerLink): Promise<void> {
    const me = this.me!;
    if (link && !isDmRoom(bundle.room)) {
      await this.compareHead(bundle.room, bundle.head, from, link);
      if (this.park(bundle.room, bundle.head, from, { t: 'session', bundle }, link)) return;
    }
    if (this.inbound!.has(bundle.room, bundle.sender, bundle.session)) return; // never reset a chain we hold: that would allow replays
    // Nor one that ended here (evicted, or from before we left the room): its keys were used.
    const ended = this.inbound!.refusal(bundle);
    if (ended) throw new SenderKeyError('session.ended', `refused a session key from ${bundle.sender}: ${ended}`);
    await this.keys!.ensure([bundle.sender]);
    const senderKey = this.keys!.signingKey(bundle.sender);
    if (!senderKey) throw new ProtocolError('user.not_found', `session from unknown user ${bundle.sender}`);
    if (this.keys!.blocked(bundle.sender)) throw new ProtocolError('request.invalid', `ignored a session from ${bundle.sender}: their key changed; run verify ${bundle.sender}`);
    const members = await this.membersAt(bundle.room, bundle.head, from);
    if (!members) throw new ProtocolError('room.not_found', `session from ${from} for a room or head you do not hold`);
    if (!members.includes(bundle.sender) || !members.includes(me.user)) {
      throw new ProtocolError('room.not_member', `refused a session key from ${bundle.sender}: not a member at that log head`);
    }
    this.requireCurrentMember(bundle.room, bundle.sender);
    const inbound = openBundle(bundle, { user: me.user, encryptionKey: me.keys.encryption.privateKey }, senderKey);
    this.inbound!.add(inbound);
  }

  private async onEnvelope(from: string, env: Envelope, link: PeerLink): Promise<void> {
    const me = this.me!;
    if (!isDmRoom(env.room) && !(await this.compareHead(env.room, env.head, from, link))) {
      const room = this.rooms!.get(env.room);
      if (room?.forked) throw new ProtocolError('room.invalid_event', `dropped a message in ${room.state.name} from ${env.sender}: the room's history is forked`);
    }
    if (this.park(env.room, env.head, from, { t: 'envelope', envelope: env }, link)) return;
    const members = await this.membersAt(env.room, env.head, from);
    if (!members || !members.includes(env.sender) || !members.includes(me.user)) {
      throw new ProtocolError('room.not_member', `refused a message from ${env.sender}: not a member of that room at that log head`);
    }
    this.requireCurrentMember(env.room, env.sender);
    const inbound = this.inbound!.get(env.room, env.sender, env.session);
    if (!inbound) throw new ProtocolError('request.invalid', `a message from ${env.sender} arrived without its session key`);
    const senderKey = this.keys!.signingKey(env.sender)!;
    const body = decryptEnvelope(env, inbound, senderKey);
    this.inbound!.changed(inbound);
    // Older than this device's replay records: it may have been shown before they began.
    this.inbound!.requireAfterStart(env.sender, body.time);
    // A modified client may send what ours refuses to: never shown, and not acknowledged.
    if (isBlankMessage(body)) throw new ProtocolError('message.blank', `ignored a blank message from ${env.sender}`);
    const target = this.targetFor(env.room)!;
    // Shown and acknowledged only once the used key's deletion is on disk: a crash after this
    // point cannot make the message new again (one sync per turn, however many arrived in it).
    this.inbound!.afterDurable(() => {
      this.acks.add(link, env);
      this.emit('message', {
        room: target.name,
        roomId: env.room,
        from: env.sender,
        id: body.id,
        text: body.text,
        sentAt: body.time,
        direct: isDmRoom(env.room),
        ...(body.snippet ? { snippet: body.snippet } : {}),
      });
    });
    // Normally the next message is handled at once and shares the write; when the disk is slow,
    // this member's next messages wait for it (each waiting message holds its text in memory).
    if (this.inbound!.waitingForDisk >= MAX_WAITING_FOR_DISK) await this.inbound!.nextWrite();
  }

  /**
   * A member who left or was kicked could sign new sessions and messages at a head from before
   * that: being a member at the envelope's head is not enough, the sender must still be one in
   * the newest log we hold.
   */
  private requireCurrentMember(roomId: string, sender: string): void {
    if (isDmRoom(roomId)) return;
    const room = this.rooms!.get(roomId);
    if (!room?.state.members.has(sender)) {
      throw new ProtocolError('room.not_member', `refused a message from ${sender}: no longer a member of ${room?.state.name ?? 'that room'}`);
    }
  }

  /** Members of a room at a log head, verified; undefined when we do not hold that head. */
  private async membersAt(roomId: string, head: RoomHead, _from: string): Promise<string[] | undefined> {
    if (isDmRoom(roomId)) {
      const target = this.targetFor(roomId);
      return target && head.seq === DM_HEAD.seq && head.hash === DM_HEAD.hash ? target.members : undefined;
    }
    let state = this.rooms!.stateAt(roomId, head);
    if (!state && this.rooms!.get(roomId) && head.seq > this.rooms!.get(roomId)!.state.head.seq) {
      await this.syncRoom(roomId);
      state = this.rooms!.stateAt(roomId, head);
    }
    return state ? [...state.members.keys()] : undefined;
  }

  // ---- internals: helpers ----------------------------------------------------------------------

  private resolveRoom(ref: string): RoomView & { name: string; members: string[]; head: RoomHead } {
    const me = this.requireMe();
    let room = this.rooms!.get(ref);
    if (!room) {
      let name: string;
      try {
        name = normalizeRoomName(ref);
      } catch {
        throw new ProtocolError('room.not_found', `there is no room named ${ref}`);
      }
      room = this.rooms!.byName(name);
    }
    if (!room || room.state.closed || !room.state.members.has(me.user)) {
      throw new ProtocolError('room.not_found', `you are not in a room named ${ref}; join_room first (list_rooms shows the rooms)`);
    }
    return { ...room, name: room.state.name, members: [...room.state.members.keys()], head: room.state.head };
  }

  private dmTarget(room: string): { id: string; name: string; members: string[]; head: RoomHead; forked?: undefined } {
    const [, a, b] = room.split(':');
    if (!a || !b || dmRoom(a, b) !== room || ![a, b].includes(this.me!.user)) throw new ProtocolError('room.not_found', `${room} is not one of your direct conversations`);
    return { id: room, name: room, members: [a, b], head: { ...DM_HEAD } };
  }

  private targetFor(roomId: string): { id: string; name: string; members: string[] } | undefined {
    if (isDmRoom(roomId)) {
      try {
        return this.dmTarget(roomId);
      } catch {
        return undefined;
      }
    }
    const room = this.rooms!.get(roomId);
    return room ? { id: roomId, name: room.state.name, members: [...room.state.members.keys()] } : undefined;
  }

  private roomsSharedWith(user: string): string[] {
    return (this.rooms?.all() ?? []).filter((r) => r.state.members.has(user) && r.state.members.has(this.me!.user)).map((r) => r.id);
  }

  private requireMe(): Me {
    if (!this.me) throw new ProtocolError('auth.required', 'log in first');
    return this.me;
  }

  private persist(): void {
    if (!this.me || !this.state) return;
    const state = this.state;
    // Serialized when written (batched), not on every message.
    this.data.saveState(this.me.user, () => {
      state.outbound = Object.fromEntries([...this.outbound].map(([k, v]) => [k, serializeOutbound(v)]));
      state.inbound = {}; // in the session journal now
      return state;
    });
  }

  private report(err: unknown, from?: string): void {
    const e = err as { code?: string; message?: string };
    this.emitError({ code: e?.code ?? 'internal', message: `${from ? `from ${from}: ` : ''}${e?.message ?? String(err)}` });
  }

  /** Node throws on an 'error' event nobody listens to; the engine must never throw from one. */
  private emitError(e: ClientEvents['error']): void {
    if (this.listenerCount('error') > 0) this.emit('error', e);
  }

  /** The port to advertise: the configured one, or a free one picked now for port 0. */
  private async reservePort(): Promise<number> {
    const wanted = this.opts.peerPort ?? 0;
    if (wanted !== 0) return wanted;
    return new Promise((resolve, reject) => {
      const probe = createServer();
      probe.once('error', reject);
      probe.listen(0, this.opts.peerHost ?? '0.0.0.0', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
  }
}

function checkText(text: string): void {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_TEXT_BYTES) {
    throw new ProtocolError('request.too_large', `the message is ${bytes} bytes; the limit is ${MAX_TEXT_BYTES} bytes (64 KiB): split it or share a file instead`);
  }
}

