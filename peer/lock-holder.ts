// The holder's side of a folder lock (peer/folder-lock.ts): the listening socket that is the lock,
// answering who asks, keeping watchers until release, and handing `attach` connections on. What
// clients send is bounded: a client silent past the timeout is dropped, and the connections
// waiting for their first line, watching, or open at all are capped.

import { EventEmitter } from 'node:events';
import type { Server, Socket } from 'node:net';
import { parseHello, readLine, type HolderInfo, type Want } from './lock-wire.ts';

/** Connections still owing their first line; more are closed at once. */
const MAX_PENDING = 16;
/** Open `watch` connections; more get their answer and are closed. */
const MAX_WATCHERS = 64;
/** Open connections of any kind; more are refused by the server. */
const MAX_CONNECTIONS = 256;

type LockEvents = {
  /** An `attach` connection, after the lock's exchange: paused, with any bytes read past the hello put back. */
  connection: [socket: Socket];
};

/**
 * A held lock. Listen to `connection` to accept attaching clients (without a listener they are
 * told attach:false and closed): add the listener right after `acquire` resolves, before any
 * await, and queue what arrives until the engine is ready. `release()` (also run at process exit)
 * closes the socket, which removes its file, and closes every watcher and attached socket, so the
 * others take over at once.
 */
export class FolderLock extends EventEmitter<LockEvents> {
  private readonly pending = new Set<Socket>();
  private readonly watchers = new Set<Socket>();
  private readonly attached = new Set<Socket>();
  private releasedFlag = false;
  private readonly onExit = () => this.release();

  /** @internal acquire() makes these. */
  constructor(
    /** The folder's real path. */
    readonly dir: string,
    /** The socket path (or pipe name) this lock listens on. */
    readonly address: string,
    /** What this lock answers to `who`. */
    readonly holder: HolderInfo,
    private readonly server: Server,
    private readonly timeoutMs: number,
  ) {
    super();
    // Waiting, watching and attached connections together (each kind is bounded again below).
    server.maxConnections = MAX_CONNECTIONS;
    server.on('connection', (socket) => this.onSocket(socket));
    // A failing accept must not end the process; the lock holds as long as the server listens.
    server.on('error', () => {});
    process.once('exit', this.onExit);
  }

  get released(): boolean {
    return this.releasedFlag;
  }

  /** Stops holding the folder (idempotent, synchronous: the socket file is gone when it returns). */
  release(): void {
    if (this.releasedFlag) return;
    this.releasedFlag = true;
    process.off('exit', this.onExit);
    for (const s of [...this.pending, ...this.watchers, ...this.attached]) s.destroy();
    this.pending.clear();
    this.watchers.clear();
    this.attached.clear();
    // Closing the handle unlinks the socket file (libuv) before close() returns; removing it
    // afterwards could remove the socket of a process that has taken over since.
    this.server.close();
  }

  private reply(attach: boolean): string {
    return `${JSON.stringify({ v: 1, pid: this.holder.pid, program: this.holder.program, since: this.holder.since, attach })}\n`;
  }

  private onSocket(socket: Socket): void {
    socket.on('error', () => {});
    if (this.releasedFlag || this.pending.size >= MAX_PENDING) {
      socket.destroy();
      return;
    }
    this.pending.add(socket);
    const drop = () => {
      clearTimeout(timer);
      this.pending.delete(socket);
      socket.destroy();
    };
    const timer = setTimeout(drop, this.timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      this.pending.delete(socket);
    });
    readLine(socket, (line, rest) => {
      clearTimeout(timer);
      this.pending.delete(socket);
      const want = line && parseHello(line);
      if (!want || this.releasedFlag) return drop();
      this.answer(socket, want, rest);
    });
  }

  private answer(socket: Socket, want: Want, rest: Buffer): void {
    const attach = want === 'attach' && this.listenerCount('connection') > 0;
    if (attach) {
      socket.write(this.reply(true));
      this.attached.add(socket);
      socket.once('close', () => this.attached.delete(socket));
      if (rest.length) socket.unshift(rest);
      this.emit('connection', socket);
      return;
    }
    if (want === 'watch' && this.watchers.size < MAX_WATCHERS) {
      socket.write(this.reply(this.listenerCount('connection') > 0));
      this.watchers.add(socket);
      socket.once('close', () => this.watchers.delete(socket));
      // A watcher has nothing to say: anything it sends ends it.
      socket.on('data', () => socket.destroy());
      socket.resume();
      return;
    }
    socket.end(this.reply(this.listenerCount('connection') > 0));
    // Read on (and drop) so the client's close is seen and the socket ends; a client that keeps
    // it open is closed after the timeout.
    const timer = setTimeout(() => socket.destroy(), this.timeoutMs);
    socket.once('close', () => clearTimeout(timer));
    socket.on('data', () => {});
    socket.resume();
  }
}
