// The engine's link to the tracker over time: first connection with the fingerprint pinned on
// first use (SSH's accept-new), then, when the link drops, reconnection with backoff and the
// resume token, never asking for the password again. It tells its user what it is doing.

import { EventEmitter } from 'node:events';
import { ProtocolError } from '../protocol/errors.ts';
import type { RequestParams, TrackerEvent, TrackerRequestType, TrackerResult } from '../protocol/tracker.ts';
import { TrackerConnection, TrackerFingerprintMismatch } from './tracker-connection.ts';

export type ConnectionState = 'offline' | 'connecting' | 'online' | 'reconnecting';

export interface TrackerPins {
  get(address: string): string | undefined;
  set(address: string, fingerprint: string): void;
}

export interface TrackerSessionOptions {
  host: string;
  port: number;
  pins: TrackerPins;
  /** Asked once for a tracker never seen before; false refuses it. Default: accept (accept-new). */
  trustFirstUse?: (fingerprint: string, address: string) => Promise<boolean> | boolean;
  /** Delays between reconnection attempts; the last repeats. */
  backoffMs?: number[];
  heartbeatMs?: number;
}

export type SessionResult = TrackerResult<'login'>;

type Events = {
  state: [ConnectionState, string];
  event: [TrackerEvent];
  /** After a reconnection: the fresh session (online peers, rooms) to resync from. */
  resumed: [SessionResult];
  /** The resume token was refused (revoked or expired): the user must log in again. */
  ended: [string];
};

export class TrackerSession extends EventEmitter<Events> {
  private conn?: TrackerConnection;
  private token?: string;
  private peerPort = 0;
  private stopped = false;
  private retry?: NodeJS.Timeout;
  state: ConnectionState = 'offline';

  constructor(private readonly opts: TrackerSessionOptions) {
    super();
  }

  get address(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }

  get fingerprint(): string | undefined {
    return this.conn?.fingerprint;
  }

  /** Connects (if not connected) and checks or pins the tracker's fingerprint. */
  async connect(): Promise<void> {
    if (this.conn && !this.conn.closed) return;
    this.stopped = false;
    this.setState('connecting', `connecting to the tracker at ${this.address}`);
    try {
      this.conn = await this.open();
    } catch (err) {
      this.setState('offline', (err as Error).message);
      throw err;
    }
  }

  async request<T extends TrackerRequestType>(type: T, params: RequestParams<T>): Promise<TrackerResult<T>> {
    if (!this.conn || this.conn.closed) {
      throw new ProtocolError('server.timeout', `not connected to the tracker at ${this.address}${this.state === 'reconnecting' ? '; reconnecting' : ''}`);
    }
    return this.conn.request(type, params);
  }

  /** Logs in or resumes on the current connection; afterwards drops are healed with the token. */
  async start(kind: 'login', params: RequestParams<'login'>): Promise<SessionResult>;
  async start(kind: 'resume', params: RequestParams<'resume'>): Promise<SessionResult>;
  async start(kind: 'login' | 'resume', params: RequestParams<'login'> | RequestParams<'resume'>): Promise<SessionResult> {
    await this.connect();
    const result = (await this.conn!.request(kind, params as never)) as SessionResult;
    this.token = result.token;
    this.peerPort = params.peerPort;
    this.setState('online', `online as ${result.user}`);
    return result;
  }

  /** A new token after a password change. */
  setToken(token: string): void {
    this.token = token;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.token = undefined;
    clearTimeout(this.retry);
    const conn = this.conn;
    this.conn = undefined;
    if (conn && !conn.closed) await conn.close();
    this.setState('offline', 'disconnected');
  }

  private async open(): Promise<TrackerConnection> {
    const address = this.address;
    const pinned = this.opts.pins.get(address);
    const conn = await TrackerConnection.connect({
      host: this.opts.host,
      port: this.opts.port,
      ...(pinned ? { expectedFingerprint: pinned } : {}),
      ...(this.opts.heartbeatMs !== undefined ? { heartbeatMs: this.opts.heartbeatMs } : {}),
    });
    if (!pinned) {
      const trusted = (await this.opts.trustFirstUse?.(conn.fingerprint, address)) ?? true;
      if (!trusted) {
        await conn.close();
        throw new Error(`you did not trust the tracker at ${address} (fingerprint ${conn.fingerprint})`);
      }
      this.opts.pins.set(address, conn.fingerprint);
    }
    conn.on('event', (e) => this.emit('event', e));
    conn.once('close', (reason) => this.onClose(conn, reason));
    return conn;
  }

  private onClose(conn: TrackerConnection, reason: Error | undefined): void {
    if (conn !== this.conn || this.stopped) return;
    this.conn = undefined;
    if (!this.token) {
      this.setState('offline', `the tracker closed the connection${reason ? `: ${reason.message}` : ''}`);
      return;
    }
    this.reconnect(0, reason?.message ?? 'connection lost');
  }

  private reconnect(attempt: number, why: string): void {
    const backoff = this.opts.backoffMs ?? [250, 500, 1000, 2000, 5000];
    const delay = backoff[Math.min(attempt, backoff.length - 1)];
    this.setState('reconnecting', `lost the tracker (${why}); reconnecting in ${Math.ceil(delay / 100) / 10} s`);
    this.retry = setTimeout(async () => {
      if (this.stopped || !this.token) return;
      try {
        this.conn = await this.open();
        const result = (await this.conn.request('resume', { token: this.token, peerPort: this.peerPort })) as SessionResult;
        this.setState('online', `back online as ${result.user}`);
        this.emit('resumed', result);
      } catch (err) {
        if (err instanceof TrackerFingerprintMismatch) {
          this.token = undefined;
          this.setState('offline', err.message);
          return;
        }
        if (err instanceof ProtocolError && err.code === 'auth.bad_token') {
          this.token = undefined;
          await this.conn?.close();
          this.setState('offline', 'your session ended (logged out elsewhere or revoked); log in again');
          this.emit('ended', err.message);
          return;
        }
        this.conn?.close().catch(() => {});
        this.conn = undefined;
        this.reconnect(attempt + 1, (err as Error).message);
      }
    }, delay);
  }

  private setState(state: ConnectionState, detail: string): void {
    this.state = state;
    this.emit('state', state, detail);
  }
}
