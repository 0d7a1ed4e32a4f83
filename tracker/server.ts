// The tracker's TLS server: accepts connections (bounded per address), turns frames into handled
// requests, and keeps presence. Bad client data gets an error reply and a log line, never a crash.
// Connections are bounded per address only until they log in: a logged-in one counts against its
// user (--max-conns-per-user), so people behind one address (a NAT, a shared jump host) cannot use
// up each other's connections, and a stranger there holds only what has not logged in.
// Every connection the tracker closes itself (deadline, heartbeat, slow consumer, too many,
// oversized frame, revoked session, shutdown) is logged with its address, user and reason.

import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { ProtocolError } from '../protocol/errors.ts';
import { UNAUTHENTICATED_REQUESTS, trackerRequestSchema } from '../protocol/tracker.ts';
import type { Accounts } from './accounts.ts';
import type { TrackerConfig } from './config.ts';
import { Connection, normalizeAddress, type CloseReason } from './connection.ts';
import { handleRequest, type HandlerContext } from './handlers.ts';
import type { Logger } from './log.ts';
import { Presence } from './presence.ts';
import type { Rooms } from './rooms.ts';

export class TrackerServer {
  readonly presence = new Presence();
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  /** Connections not logged in, per address. */
  private readonly perAddress = new Map<string, number>();
  private readonly anonymous = new Set<Connection>();
  /** Sockets (TLS handshake included) not logged in, per address; and each socket's entry by remote address and port. */
  private readonly rawPerAddress = new Map<string, number>();
  private readonly rawSockets = new Map<string, { address: string; counted: boolean }>();
  private readonly ctx: HandlerContext;
  private shuttingDown = false;
  /** Addresses refused before TLS, and when that was last logged (one line per address per window). */
  private readonly refusedLogged = new Map<string, number>();

  constructor(
    private readonly config: TrackerConfig,
    tls: { cert: string; key: string },
    accounts: Accounts,
    rooms: Rooms,
    private readonly log: Logger,
  ) {
    this.ctx = { accounts, rooms, presence: this.presence, log, now: () => Date.now(), pageSize: config.pageSize, maxConnsPerUser: config.maxConnsPerUser };
    this.server = createServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.3', handshakeTimeout: config.authTimeoutMs });
    this.server.on('secureConnection', (socket) => this.accept(socket));
    // Sockets still in their TLS handshake count too: otherwise one address could hold any
    // number of half-open handshakes until the deadline. The limit after the handshake explains
    // itself to the client; this one, before TLS, can only hang up.
    this.server.on('connection', (socket) => {
      const address = normalizeAddress(socket.remoteAddress ?? 'unknown');
      const key = `${socket.remoteAddress}:${socket.remotePort}`;
      const entry = { address, counted: true };
      this.rawSockets.set(key, entry);
      const count = bump(this.rawPerAddress, address, 1);
      socket.once('close', () => {
        if (this.rawSockets.get(key) === entry) this.rawSockets.delete(key);
        if (entry.counted) bump(this.rawPerAddress, address, -1);
      });
      if (count > this.config.maxConnsPerAddress * 2) {
        // Before TLS nothing can be said to the client: log it, once per address per 10 s, so a
        // flood of refused connections cannot flood the log.
        const now = Date.now();
        if (now - (this.refusedLogged.get(address) ?? 0) > 10_000) {
          if (this.refusedLogged.size > 10_000) this.refusedLogged.clear();
          this.refusedLogged.set(address, now);
          this.log('warn', 'connection refused before TLS: too many connections from this address', { address, open: count - 1 });
        }
        socket.destroy();
      }
    });
    // Garbage instead of a TLS handshake, or a client that gives up: not our problem, but say so.
    this.server.on('tlsClientError', (err, socket) => {
      log('warn', 'TLS handshake failed', { address: normalizeAddress(socket.remoteAddress ?? '?'), reason: (err as NodeJS.ErrnoException).code ?? err.message });
      socket.destroy();
    });
  }

  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.port, this.config.host, () => {
        this.server.off('error', reject);
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
    const conn = new Connection(socket, this.config, (c, frame) => this.onFrame(c, frame), (c, reason) => this.onClose(c, reason));
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
      if (raw?.counted) {
        raw.counted = false;
        bump(this.rawPerAddress, raw.address, -1);
      }
    } else if (!conn.user && !this.anonymous.has(conn)) {
      this.anonymous.add(conn);
      bump(this.perAddress, conn.address, 1);
      if (raw && !raw.counted) {
        raw.counted = true;
        bump(this.rawPerAddress, raw.address, 1);
      }
    }
  }

  private onClose(conn: Connection, reason: CloseReason | null): void {
    if (reason && reason.code !== 'server.shutdown') {
      this.log('warn', 'closed a connection', { address: conn.address, user: conn.user ?? undefined, code: reason.code, reason: reason.message.slice(0, 200) });
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
      if (id === null) throw new ProtocolError('request.invalid', 'a request needs an "id": a whole number');
      const req = trackerRequestSchema.parse(frame);
      if (!conn.user && !UNAUTHENTICATED_REQUESTS.includes(req.type)) {
        throw new ProtocolError('auth.required', `log in before ${req.type}`);
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
    } catch (err) {
      if (err instanceof ProtocolError) {
        conn.sendError(id, { code: err.code, message: err.message, ...(err.retryAfterMs !== undefined ? { retryAfterMs: err.retryAfterMs } : {}) });
        if (err.code === 'request.invalid' || err.code === 'request.unknown_type') {
          this.log('warn', 'bad request', { address: conn.address, code: err.code, reason: err.message.slice(0, 200) });
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
