// The tracker's TLS server: accepts connections (bounded per address), turns frames into handled
// requests, and keeps presence. Bad client data gets an error reply and a log line, never a crash.
// Connections are bounded per address only until they log in: a logged-in one counts against its
// user (--max-conns-per-user), so people behind one address (a NAT, a shared jump host) cannot use
// up each other's connections, and a stranger there holds only what has not logged in.
// All connections not logged in (TLS handshakes included) are bounded together too
// (--max-pending-conns, and a quarter of the open-file limit): when full, a new connection evicts
// the oldest one of the address holding the most, so a flood from many addresses shares the slots
// and a newcomer always gets one; connections that have sent no valid request yet go before those
// that have (a real client sends prelogin at once, then derives its key for about a second, while
// an idle flood's connections never speak); logged-in connections are never evicted. A connection may send
// MAX_REQUESTS_BEFORE_LOGIN requests before it logs in. Every connection the tracker closes itself
// (deadline, heartbeat, slow consumer, too many, evicted, oversized frame, revoked session,
// shutdown) is logged with its address, user and reason; floods of them (and of failed TLS
// handshakes, refusals, accept errors) at most a few lines per address per 10 s, with a count.

import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { ProtocolError, isErrorCode } from '../protocol/errors.ts';
import { MAILBOX_FRAME_LIMIT, MAX_REQUESTS_BEFORE_LOGIN, UNAUTHENTICATED_REQUESTS, trackerRequestSchema } from '../protocol/tracker.ts';
import type { Accounts } from './accounts.ts';
import type { TrackerConfig } from './config.ts';
import { Connection, normalizeAddress, type CloseReason } from './connection.ts';
import { handleRequest, type HandlerContext } from './handlers.ts';
import type { Logger } from './log.ts';
import type { Mailbox } from './mailbox.ts';
import { Presence } from './presence.ts';
import type { Rooms } from './rooms.ts';
import { LogThrottle } from './rate-limit.ts';

/** How often each kind of flood (per address) may write to the log. */
const LOG_INTERVAL_MS = 10_000;

/** A socket not logged in: from its TCP accept, through the TLS handshake, until its login. */
interface Pending {
  address: string;
  socket: Socket;
  conn?: Connection;
  counted: boolean;
  /** It sent a valid request (ping aside): evicted only when no silent connection is left. */
  spoke: boolean;
}

/**
 * The most connections not logged in that the open-file limit (ulimit -n; Linux /proc) leaves
 * room for: a quarter of it, so logged-in clients, SQLite and the rest keep their descriptors.
 * Infinity where the limit cannot be read.
 */
export function pendingCeiling(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    return Number.isFinite(soft) && soft > 0 ? Math.max(8, Math.floor(soft / 4)) : Infinity;
  } catch {
    return Infinity;
  }
}

export class TrackerServer {
  readonly presence = new Presence();
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  /** Connections not logged in, per address. */
  private readonly perAddress = new Map<string, number>();
  private readonly anonymous = new Set<Connection>();
  /** Sockets (TLS handshake included) not logged in, per address, oldest first; and each socket's entry by remote address and port. */
  private readonly pendingByAddress = new Map<string, Set<Pending>>();
  private pendingTotal = 0;
  private readonly rawSockets = new Map<string, Pending>();
  /** --max-pending-conns, lowered to what the open-file limit allows. */
  readonly maxPending: number;
  private readonly ctx: HandlerContext;
  /** The config's connection limits, with bigger frames once logged in when the mailbox is on. */
  private readonly connLimits: TrackerConfig & { loggedInFrameBytes?: number };
  private shuttingDown = false;
  /** Log lines of floods: refusals, failed handshakes, evictions, forced closes, accept errors. */
  private readonly refusedLog = new LogThrottle(LOG_INTERVAL_MS);
  private readonly tlsLog = new LogThrottle(LOG_INTERVAL_MS);
  private readonly evictLog = new LogThrottle(LOG_INTERVAL_MS);
  private readonly closeLog = new LogThrottle(LOG_INTERVAL_MS, 20);
  private readonly acceptLog = new LogThrottle(LOG_INTERVAL_MS);
  private readonly badRequestLog = new LogThrottle(LOG_INTERVAL_MS, 20);

  constructor(
    private readonly config: TrackerConfig,
    tls: { cert: string; key: string },
    accounts: Accounts,
    rooms: Rooms,
    private readonly log: Logger,
    mailbox?: Mailbox,
  ) {
    this.ctx = {
      accounts, rooms, presence: this.presence, log, now: () => Date.now(), pageSize: config.pageSize, maxConnsPerUser: config.maxConnsPerUser,
      ...(mailbox ? { mailbox } : {}),
    };
    this.connLimits = mailbox ? { ...config, loggedInFrameBytes: MAILBOX_FRAME_LIMIT } : config;
    this.server = createServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.3', handshakeTimeout: config.authTimeoutMs });
    this.server.on('secureConnection', (socket) => this.accept(socket));
    this.maxPending = Math.min(config.maxPendingConns, pendingCeiling());
    if (this.maxPending < config.maxPendingConns) {
      log('info', 'connections not logged in limited by the open-file limit (ulimit -n)', { 'max-pending-conns': this.maxPending });
    }
    // Sockets still in their TLS handshake count too: otherwise one address could hold any
    // number of half-open handshakes until the deadline. The limit after the handshake explains
    // itself to the client; this one, before TLS, can only hang up.
    this.server.on('connection', (socket: Socket) => {
      const address = normalizeAddress(socket.remoteAddress ?? 'unknown');
      const key = `${socket.remoteAddress}:${socket.remotePort}`;
      const entry: Pending = { address, socket, counted: false, spoke: false };
      this.rawSockets.set(key, entry);
      this.addPending(entry);
      socket.once('close', () => {
        if (this.rawSockets.get(key) === entry) this.rawSockets.delete(key);
        this.removePending(entry);
      });
      const count = this.pendingByAddress.get(address)?.size ?? 0;
      if (count > this.config.maxConnsPerAddress * 2) {
        // Before TLS nothing can be said to the client: log it, once per address per 10 s, so a
        // flood of refused connections cannot flood the log.
        const suppressed = this.refusedLog.take(address);
        if (suppressed !== null) {
          this.log('warn', 'connection refused before TLS: too many connections from this address', { address, open: count - 1, ...(suppressed ? { 'refused-since-last-line': suppressed } : {}) });
        }
        this.removePending(entry);
        socket.destroy();
        return;
      }
      if (this.pendingTotal > this.maxPending) this.evictOne(entry);
    });
    // Garbage instead of a TLS handshake, or a client that gives up: not our problem, but say so
    // (once per address per 10 s, with the count of the others).
    this.server.on('tlsClientError', (err, socket) => {
      const address = normalizeAddress(socket.remoteAddress ?? '?');
      const suppressed = this.tlsLog.take(address);
      if (suppressed !== null) {
        log('warn', 'TLS handshake failed', { address, reason: (err as NodeJS.ErrnoException).code ?? err.message, ...(suppressed ? { 'failed-since-last-line': suppressed } : {}) });
      }
      socket.destroy();
    });
  }

  /**
   * The slots of connections not logged in are full: one goes (told why if its TLS handshake is
   * done), never `newcomer`. Connections that have sent no valid request go first: of those, the
   * oldest of the address holding the most; only when none is left, the oldest (of any) of the
   * address holding the most. A newcomer always gets in, a flood from many addresses shares the
   * slots, and a client that sent prelogin and is deriving its key outlasts an idle flood however
   * many addresses it comes from. A scan of the connections not logged in.
   */
  private evictOne(newcomer: Pending): void {
    const pick = (silentOnly: boolean): [Pending, Set<Pending>] | undefined => {
      let best: [Pending, Set<Pending>] | undefined;
      for (const set of this.pendingByAddress.values()) {
        if (best && set.size <= best[1].size) continue;
        for (const entry of set) {
          if (entry === newcomer || (silentOnly && entry.spoke)) continue;
          best = [entry, set];
          break;
        }
      }
      return best;
    };
    const found = pick(true) ?? pick(false);
    if (!found) return;
    const [oldest, victims] = found;
    this.removePending(oldest);
    // One line per 10 s for all addresses: a flood from thousands of addresses is one event.
    const suppressed = this.evictLog.take('all');
    if (suppressed !== null) {
      this.log('warn', 'connection evicted: too many connections not logged in', {
        address: oldest.address,
        held: (victims.size + 1),
        ...(oldest.spoke ? { 'had-spoken': true } : {}),
        total: this.pendingTotal,
        ...(suppressed ? { 'evicted-since-last-line': suppressed } : {}),
      });
    }
    if (oldest.conn) {
      oldest.conn.fail('server.busy', oldest.spoke
        ? 'the tracker has too many connections that have not logged in, and yours was the oldest from your address; log in sooner, or retry'
        : 'the tracker has too many connections that have not logged in, and yours had sent no request; send one (prelogin) at once, or retry');
    } else {
      oldest.socket.destroy();
    }
  }

  private addPending(entry: Pending): void {
    if (entry.counted) return;
    entry.counted = true;
    let set = this.pendingByAddress.get(entry.address);
    if (!set) this.pendingByAddress.set(entry.address, (set = new Set()));
    set.add(entry);
    this.pendingTotal++;
  }

  private removePending(entry: Pending): void {
    if (!entry.counted) return;
    entry.counted = false;
    const set = this.pendingByAddress.get(entry.address);
    set?.delete(entry);
    if (set && !set.size) this.pendingByAddress.delete(entry.address);
    this.pendingTotal--;
  }

  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.port, this.config.host, () => {
        this.server.off('error', reject);
        // After listening, an error is one accept failing (EMFILE, ENFILE: out of file
        // descriptors): log it, once per 10 s with a count, and keep serving the others.
        this.server.on('error', (err: NodeJS.ErrnoException) => {
          const suppressed = this.acceptLog.take(err.code ?? 'error');
          if (suppressed !== null) {
            this.log('error', 'could not accept a connection', {
              reason: err.code ?? err.message,
              ...(err.code === 'EMFILE' || err.code === 'ENFILE' ? { hint: 'out of file descriptors: raise ulimit -n or lower --max-pending-conns' } : {}),
              ...(suppressed ? { 'failed-since-last-line': suppressed } : {}),
            });
          }
        });
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    // Going down is not everyone going offline: no presence events, clients will resume.
    this.shuttingDown = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const sockets = [...this.connections].map((c) => c.socket);
    if (sockets.length) this.log('info', 'closing every connection: shutting down', { connections: sockets.length });
    for (const conn of [...this.connections]) conn.fail('server.shutdown', 'the tracker is shutting down; your client will reconnect');
    // Each client gets its `closing` event and hangs up; whoever has not within a moment is cut.
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, 1000)));
    await Promise.race([Promise.all(sockets.map((s) => (s.closed ? undefined : new Promise((r) => s.once('close', r))))), grace]);
    clearTimeout(timer);
    for (const socket of sockets) socket.destroy();
    await closed;
  }

  private accept(socket: TLSSocket): void {
    const address = normalizeAddress(socket.remoteAddress ?? 'unknown');
    const count = this.perAddress.get(address) ?? 0;
    const conn = new Connection(socket, this.connLimits, (c, frame) => this.onFrame(c, frame), (c, reason) => this.onClose(c, reason));
    const raw = this.rawSockets.get(`${socket.remoteAddress}:${socket.remotePort}`);
    if (raw) raw.conn = conn;
    if (count >= this.config.maxConnsPerAddress) {
      conn.fail('server.busy', `too many connections from ${address} that have not logged in; log in on one, or close some, and retry`);
      return;
    }
    bump(this.perAddress, address, 1);
    this.anonymous.add(conn);
    this.connections.add(conn);
  }

  /**
   * After each request: a connection that logged in stops counting against its address (its
   * user's limit holds it now); one that logged out counts again.
   */
  private recount(conn: Connection): void {
    if (conn.closed) return;
    const raw = this.rawSockets.get(`${conn.socket.remoteAddress}:${conn.socket.remotePort}`);
    if (conn.user && this.anonymous.delete(conn)) {
      bump(this.perAddress, conn.address, -1);
      if (raw) this.removePending(raw);
    } else if (!conn.user && !this.anonymous.has(conn)) {
      this.anonymous.add(conn);
      bump(this.perAddress, conn.address, 1);
      if (raw) this.addPending(raw);
    }
  }

  private onClose(conn: Connection, reason: CloseReason | null): void {
    if (reason && reason.code !== 'server.shutdown') {
      const suppressed = this.closeLog.take(`${conn.address} ${reason.code}`);
      if (suppressed !== null) {
        this.log('warn', 'closed a connection', {
          address: conn.address,
          user: conn.user ?? undefined,
          code: reason.code,
          reason: reason.message.slice(0, 200),
          ...(suppressed ? { 'closed-since-last-line': suppressed } : {}),
        });
      }
    }
    if (!this.connections.delete(conn)) return;
    if (this.anonymous.delete(conn)) bump(this.perAddress, conn.address, -1);
    const user = conn.user;
    if (user && this.presence.remove(conn) && !this.shuttingDown) {
      this.presence.broadcast({ event: 'presence', ...this.presence.info(user, conn.fingerprint) });
      this.log('info', 'offline', { user });
    }
  }

  private async onFrame(conn: Connection, frame: unknown): Promise<void> {
    const rawId = (frame as { id?: unknown } | null)?.id;
    const id = typeof rawId === 'number' && Number.isSafeInteger(rawId) && rawId >= 0 ? rawId : null;
    try {
      // Counted before parsing: invalid requests count too. Ping does not: it costs nothing,
      // and a login waiting for bcrypt may need heartbeats.
      if (!conn.user && (frame as { type?: unknown } | null)?.type !== 'ping' && ++conn.requestsBeforeLogin > MAX_REQUESTS_BEFORE_LOGIN) {
        const message = `${MAX_REQUESTS_BEFORE_LOGIN} requests without logging in, the most one connection may send; reconnect and log in`;
        conn.sendError(id, { code: 'rate_limited', message });
        conn.fail('rate_limited', message);
        return;
      }
      if (id === null) throw new ProtocolError('request.invalid', 'a request needs an "id": a whole number');
      const req = trackerRequestSchema.parse(frame);
      if (!conn.user && !UNAUTHENTICATED_REQUESTS.includes(req.type)) {
        throw new ProtocolError('auth.required', `log in before ${req.type}`);
      }
      // A valid request (a ping shows nothing): evicted after the silent ones (evictOne).
      if (!conn.user && req.type !== 'ping') {
        const raw = this.rawSockets.get(`${conn.socket.remoteAddress}:${conn.socket.remotePort}`);
        if (raw) raw.spoke = true;
      }
      const signingIn = !conn.user && (req.type === 'login' || req.type === 'register' || req.type === 'resume');
      if (signingIn) conn.holdDeadline();
      let result: unknown;
      try {
        result = await handleRequest(this.ctx, conn, req);
      } finally {
        if (signingIn) conn.restartDeadline();
        this.recount(conn);
      }
      conn.send({ id, ok: true, ...(result as object) });
      // After the answer: notices of dropped mailbox items kept while the user was away.
      if (signingIn && conn.user && this.ctx.mailbox) void this.ctx.mailbox.sessionStarted(conn.user);
    } catch (err) {
      // Only wire codes leave the tracker (old clients refuse others); a peer-side code here is a bug.
      if (err instanceof ProtocolError && isErrorCode(err.code)) {
        conn.sendError(id, { code: err.code, message: err.message, ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}) });
        if (err.code === 'request.invalid' || err.code === 'request.unknown_type') {
          const suppressed = this.badRequestLog.take(conn.address);
          if (suppressed !== null) {
            this.log('warn', 'bad request', { address: conn.address, code: err.code, reason: err.message.slice(0, 200), ...(suppressed ? { 'bad-since-last-line': suppressed } : {}) });
          }
        }
      } else {
        this.log('error', 'request failed', { address: conn.address, reason: String((err as Error)?.stack ?? err).slice(0, 2000) });
        conn.sendError(id, { code: 'internal', message: 'the tracker failed to handle this request; its log has the details' });
      }
    }
  }
}

/** Adds `by` to a per-key count, deleting the key at zero; returns the new count. */
function bump(counts: Map<string, number>, key: string, by: number): number {
  const n = (counts.get(key) ?? 0) + by;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
  return n;
}
