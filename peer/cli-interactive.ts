// `node peer`: the interactive terminal client (DESIGN.md "Terminal client"). The original's
// commands, typed one per line; passwords asked for without echo; incoming messages and events
// printed above the line being typed, which is then drawn again as it was. Every command runs
// through the dispatcher the `--json` mode uses (cli-commands.ts); this file only reads, asks and
// prints.

import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';
import { Writable, type Readable } from 'node:stream';
import type { ClientCommand, ClientEvents, MemberRow, PeerRow } from '../protocol/client.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { normalizeUserName } from '../protocol/names.ts';
import { columnWidth, markSpaceRuns, visible, visibleLines, wrapRows } from '../protocol/text.ts';
import { checkPasswordPolicy } from './account.ts';
import { COMMANDS, describeError, hasSavedSession, runCommand, type CommandResult } from './cli-commands.ts';
import type { ChatEngine } from './engine.ts';

const HISTORY_SIZE = 500;
/** The width assumed when stdout is not a terminal and COLUMNS does not say. */
const DEFAULT_COLUMNS = 80;
/** Narrower than this, rows would be mostly indent. */
const MIN_COLUMNS = 20;

/**
 * The width rows are cut to: the terminal's, else `COLUMNS` from the environment, else 80; one
 * column less, so that no row fills the last column (some terminals wrap on it at once).
 */
export function rowWidth(output: { isTTY?: boolean; columns?: number }, env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = /^\d+$/.test(env.COLUMNS ?? '') ? Number(env.COLUMNS) : 0;
  const columns = (output.isTTY && output.columns) || fromEnv || DEFAULT_COLUMNS;
  return Math.max(columns, MIN_COLUMNS) - 1;
}

/**
 * Text holding what a peer or the tracker chose (a message, a snippet, an error, an event, a
 * table of names): printed cut into rows of the terminal's width, every continuation row
 * indented. A terminal wraps a longer line itself and starts the rest at column 0, where padding
 * (`lunch?`, 57 spaces, `[dm] carol: ...`) makes it pass for a message of its own. Our own lines
 * (fingerprints, help) are printed whole, so they can be copied whole.
 */
export class PeerText {
  constructor(readonly text: string) {}
}

type Input = Readable & { isTTY?: boolean };
type Output = Writable & { isTTY?: boolean; columns?: number };

export interface InteractiveIo {
  input: Input;
  output: Output;
  /** Also print delivery counts and typing notices. */
  verbose: boolean;
  /** Closes the engine and ends the process (Ctrl-C). */
  exit(code: number): Promise<never>;
}

/** The help text of both `node peer --help` and the `help` command. */
export function commandHelp(): string {
  const shown = COMMANDS.filter((c) => !c.jsonOnly);
  const width = Math.max(...shown.map((c) => c.usage.length));
  return [
    'Commands:',
    ...shown.map((c) => `  ${c.usage.padEnd(width)}  ${c.about}`),
    'Messages show as [room] sender: text, direct ones as [dm] sender: text. In chat mode, /quit leaves.',
  ].join('\n');
}

/** A question was cancelled (Ctrl-C) or stdin ended while asking. */
class Cancelled extends Error {}

type ReadKind = 'command' | 'question' | 'secret';

/**
 * Lines from stdin, one reader at a time, whoever asks next: the command loop, a password
 * prompt, or the tracker trust question. Lines typed ahead wait in order.
 */
class Terminal {
  readonly tty: boolean;
  readonly rl: Interface;
  private readonly lines: string[] = [];
  private waiter?: { kind: ReadKind; prompt: string; resolve(line: string | null): void };
  private muted = false;
  closed = false;
  onInterrupt?: () => void;

  constructor(private readonly output: Output, input: Input) {
    this.tty = Boolean(input.isTTY && output.isTTY);
    // readline echoes what is typed to its output; a password prompt mutes that echo. stdin is
    // in raw mode on a TTY (readline sets it), so nothing else echoes.
    const sink = new Writable({
      write: (chunk, _encoding, done) => {
        if (!this.muted) output.write(chunk);
        done();
      },
    });
    Object.defineProperty(sink, 'columns', { get: () => output.columns });
    output.on('resize', () => sink.emit('resize'));
    this.rl = createInterface({ input, output: sink, terminal: this.tty, historySize: HISTORY_SIZE });
    this.rl.on('line', (line) => this.push(line));
    this.rl.on('close', () => {
      this.closed = true;
      this.take(null);
    });
    // A password typed at a muted prompt must not come back with the up arrow.
    this.rl.on('history', (history) => {
      if (this.muted) history.shift();
    });
    this.rl.on('SIGINT', () => this.onInterrupt?.());
  }

  /** The next line; null when stdin ended (or the question was cancelled). */
  read(prompt: string, kind: ReadKind = 'command'): Promise<string | null> {
    // A prompt may name a room or a user: it reaches the terminal as printable text only.
    prompt = visible(prompt);
    const ready = this.lines.shift();
    if (ready !== undefined) {
      // Answered ahead (a script, or fast typing): still show what was asked.
      if (kind !== 'command') this.output.write(prompt.trimEnd() + '\n');
      return Promise.resolve(ready);
    }
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiter = { kind, prompt, resolve };
      if (this.tty) {
        this.rl.setPrompt(prompt);
        this.rl.prompt();
        this.muted = kind === 'secret';
      } else if (kind !== 'command') {
        this.output.write(prompt.trimEnd() + '\n');
      }
    });
  }

  /** Ends the current read with `line` (null cancels a question). */
  answer(line: string | null): boolean {
    if (!this.waiter) return false;
    if (this.tty) this.output.write('\n');
    this.take(line);
    return true;
  }

  get waiting(): ReadKind | undefined {
    return this.waiter?.kind;
  }

  /**
   * Prints whole lines above the line being typed, then draws the prompt and that line again.
   * The last guard for text from peers and the tracker: no control or invisible character but the
   * newline reaches the terminal (fields are made visible one by one before, so a newline in one
   * cannot start a line that passes for another message), and PeerText is cut into rows here,
   * each continuation row indented, so the terminal never wraps it itself.
   */
  print(shown: string | PeerText): void {
    let text = visibleLines(shown instanceof PeerText ? shown.text : shown);
    if (shown instanceof PeerText) {
      const width = rowWidth(this.output);
      text = text
        .split('\n')
        .flatMap((line) => wrapRows(line, width))
        .join('\n');
    }
    if (!this.tty || !this.waiter) {
      this.output.write(text + '\n');
      return;
    }
    clearLine(this.output, 0);
    cursorTo(this.output, 0);
    this.output.write(text + '\n');
    if (this.waiter.kind === 'secret') this.output.write(this.waiter.prompt);
    else this.rl.prompt(true);
  }

  close(): void {
    this.muted = false;
    this.rl.close();
  }

  private push(line: string): void {
    if (this.waiter) {
      if (this.muted && this.tty) this.output.write('\n');
      this.take(line);
    } else {
      this.lines.push(line);
    }
  }

  private take(line: string | null): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    this.muted = false;
    waiter?.resolve(line);
  }
}

export class InteractiveMode {
  private term?: Terminal;
  private engine?: ChatEngine;
  /** The chat mode's target while in it. */
  private chatting?: string;
  private connection: ClientEvents['connection']['state'] = 'offline';

  constructor(private readonly io: InteractiveIo) {}

  /** First use of a tracker: show its fingerprint and ask, like SSH. */
  readonly trustTracker = async (fingerprint: string, address: string): Promise<boolean> => {
    const term = this.term!;
    term.print(`First connection to the tracker at ${address}. Its certificate fingerprint (SHA-256) is:`);
    term.print(`  ${fingerprint}`);
    term.print('Compare it with the fingerprint `node tracker` printed when it started.');
    const answer = await term.read('Trust this tracker? [y/N] ', 'question');
    return /^\s*y(es)?\s*$/i.test(answer ?? '');
  };

  async run(engine: ChatEngine): Promise<number> {
    this.engine = engine;
    const term = (this.term = new Terminal(this.io.output, this.io.input));
    term.onInterrupt = () => this.interrupt();
    this.listen(engine);
    term.print(`p2p-chat terminal client: tracker ${engine.trackerAddress}, data in ${engine.data.root}`);
    await this.start();
    for (;;) {
      const line = await term.read(this.prompt());
      if (line === null) break;
      if (await this.execute(line)) break;
    }
    term.close();
    return 0;
  }

  private async start(): Promise<void> {
    const engine = this.engine!;
    try {
      if (await engine.resume()) {
        this.print(`Logged in as ${engine.user} (saved session); peers reach you on port ${engine.peerPort}. Type help for the commands.`);
        return;
      }
    } catch (err) {
      this.error(err);
    }
    this.print('Not logged in: type register or login (help lists every command).');
  }

  private prompt(): string {
    if (this.chatting) return `${this.chatting}> `;
    return `${this.engine!.user ?? ''}> `;
  }

  private interrupt(): void {
    const term = this.term!;
    // Ctrl-C cancels a question, leaves chat mode, clears a typed line, and otherwise quits.
    if (term.waiting === 'secret' || term.waiting === 'question') {
      term.answer(null);
    } else if (term.waiting === 'command' && this.chatting) {
      term.answer('/quit');
    } else if (term.waiting === 'command' && term.rl.line.length > 0) {
      term.rl.write(null, { ctrl: true, name: 'e' });
      term.rl.write(null, { ctrl: true, name: 'u' });
    } else {
      term.close();
      void this.io.exit(0);
    }
  }

  /** Runs one typed line; true to quit. */
  private async execute(line: string): Promise<boolean> {
    const words = line.trim().split(/\s+/);
    const name = words[0];
    if (!name) return false;
    try {
      switch (name) {
        case 'help':
          this.print(commandHelp());
          return false;
        case 'exit':
        case 'quit':
          return true;
        case 'register':
          await this.register(words[1]);
          return false;
        case 'login':
          await this.login(words[1]);
          return false;
        case 'logout': {
          const { user } = await this.dispatch({ cmd: 'logout' });
          this.print(`Logged out ${user}; the saved session is forgotten.`);
          return false;
        }
        case 'list_peers':
          await this.listPeers();
          return false;
        case 'list_rooms':
          await this.listRooms();
          return false;
        case 'list_conn': {
          const { links } = (await this.dispatch({ cmd: 'list_conn' })) as { links: { user: string; address: string; initiator: boolean }[] };
          this.print(links.length ? table(links.map((l) => [l.user, l.address, l.initiator ? 'opened by you' : `opened by ${l.user}`])) : 'No open peer links.');
          return false;
        }
        case 'create_room':
          await this.createRoom(words.slice(1));
          return false;
        case 'join_room':
          await this.joinRoom(need(words, 1, 'join_room NAME'));
          return false;
        case 'leave_room': {
          const { room } = await this.dispatch({ cmd: 'leave_room', room: need(words, 1, 'leave_room NAME') });
          this.print(`Left ${room}.`);
          return false;
        }
        case 'close_room': {
          const { room } = await this.dispatch({ cmd: 'close_room', room: need(words, 1, 'close_room NAME') });
          this.print(`Closed ${room}.`);
          return false;
        }
        case 'kick': {
          const { room, user } = await this.dispatch({ cmd: 'kick', room: need(words, 1, 'kick ROOM USER'), user: need(words, 2, 'kick ROOM USER') });
          this.print(`Kicked ${user} from ${room}.`);
          return false;
        }
        case 'members':
          await this.members(need(words, 1, 'members ROOM'));
          return false;
        case 'msg_room':
        case 'msg':
          await this.message(name, line);
          return false;
        case 'fingerprint': {
          const fp = (await this.dispatch(words[1] ? { cmd: 'fingerprint', user: words[1] } : { cmd: 'fingerprint' })) as { user: string; fingerprint: string; verified: boolean };
          const mine = fp.user === this.engine!.user;
          this.print(`${mine ? 'Your' : `${fp.user}'s`} fingerprint: ${fp.fingerprint}${mine ? '' : fp.verified ? ' (verified)' : ' (not verified)'}`);
          return false;
        }
        case 'verify': {
          const user = need(words, 1, 'verify USER [FINGERPRINT]');
          // The fingerprint is shown in groups; take the rest of the line, spaces and all.
          let fingerprint = words.slice(2).join('');
          if (!fingerprint) {
            // Without one: show the key pinned here, ask, and verify exactly the key shown.
            const shown = (await this.dispatch({ cmd: 'fingerprint', user })) as { user: string; fingerprint: string; changedTo?: string };
            fingerprint = shown.changedTo ?? shown.fingerprint;
            this.print(`${shown.user}'s ${shown.changedTo ? 'new key (not accepted yet)' : 'key'} as pinned here: ${fingerprint}`);
            this.print(`Compare it with what \`fingerprint\` shows on ${shown.user}'s own screen (read aloud, or over another channel).`);
            const answer = await this.term!.read('Do they match? [y/N] ', 'question');
            if (!/^\s*y(es)?\s*$/i.test(answer ?? '')) {
              this.print(`Not verified: ${shown.user}'s key stays unverified.`);
              return false;
            }
          }
          const fp = (await this.dispatch({ cmd: 'verify', user, fingerprint })) as { user: string; fingerprint: string };
          this.print(`Verified ${fp.user}: ${fp.fingerprint}.`);
          return false;
        }
        default:
          this.print(`error: unknown command "${name}"; type help for the list`);
          return false;
      }
    } catch (err) {
      this.error(err);
      return false;
    }
  }

  private dispatch(cmd: ClientCommand): Promise<CommandResult> {
    return runCommand(this.engine!, cmd);
  }

  private async ask(prompt: string): Promise<string> {
    const answer = await this.term!.read(prompt, 'question');
    if (answer === null) throw new Cancelled();
    return answer.trim();
  }

  private async secret(prompt: string): Promise<string> {
    const answer = await this.term!.read(prompt, 'secret');
    if (answer === null) throw new Cancelled();
    return answer;
  }

  private async register(given?: string): Promise<void> {
    const user = normalizeUserName(given ?? (await this.ask('User name: ')));
    const password = await this.secret('Password (15 or more characters; a few unrelated words): ');
    // Checked before the second prompt, so a refused password costs one prompt, not two.
    checkPasswordPolicy(password, user);
    if ((await this.secret('Repeat the password: ')) !== password) throw new ProtocolError('request.invalid', 'the two passwords differ; run register again');
    await this.dispatch({ cmd: 'register', user, password });
    if (this.engine!.user) {
      this.print(`Registered ${user}. Log out, then log in as ${user} to use it.`);
      return;
    }
    this.print(`Registered ${user}; logging in...`);
    await this.dispatch({ cmd: 'login', user, password });
    this.print(`Logged in as ${user}; peers reach you on port ${this.engine!.peerPort}.`);
  }

  private async login(given?: string): Promise<void> {
    const engine = this.engine!;
    if (engine.user) throw new ProtocolError('auth.already_authenticated', `already logged in as ${engine.user}; log out first`);
    const user = normalizeUserName(given ?? (await this.ask('User name: ')));
    if (hasSavedSession(engine, user)) {
      try {
        await this.dispatch({ cmd: 'login', user });
        this.print(`Logged in as ${user} (saved session); peers reach you on port ${engine.peerPort}.`);
        return;
      } catch (err) {
        if (!(err instanceof ProtocolError) || err.code !== 'auth.required') throw err;
      }
    }
    const password = await this.secret('Password: ');
    await this.dispatch({ cmd: 'login', user, password });
    this.print(`Logged in as ${user}; peers reach you on port ${engine.peerPort}.`);
  }

  private async listPeers(): Promise<void> {
    const { peers } = (await this.dispatch({ cmd: 'list_peers' })) as { peers: PeerRow[] };
    if (!peers.length) return this.print('Nobody is registered yet.');
    const me = this.engine!.user;
    // The key pinned here (the one used and verified); the tracker's only when it disagrees.
    this.print(
      table(
        peers.map((p) => [
          p.user + (p.user === me ? ' (you)' : ''),
          p.online ? 'online' : 'offline',
          p.online && p.address ? `${p.address}:${p.port ?? '?'}` : '',
          `key ${p.fingerprint.split(' ').slice(0, 4).join(' ')}...`,
          p.user === me ? '' : p.verified ? 'verified' : p.pinned ? 'not verified' : 'not pinned yet',
          keyWarning(p),
        ]),
      ),
    );
  }

  private async listRooms(): Promise<void> {
    const { rooms } = (await this.dispatch({ cmd: 'list_rooms' })) as { rooms: { name: string; private: boolean; owner?: string; members: number; online: number; member: boolean }[] };
    if (!rooms.length) return this.print('No rooms yet: create_room NAME makes one.');
    this.print(
      table(
        rooms.map((r) => [
          r.name,
          r.private ? 'private' : 'public',
          r.owner ? `owner ${r.owner}` : 'no owner',
          `${r.members} member${r.members === 1 ? '' : 's'}, ${r.online} online`,
          r.member ? '(joined)' : '',
        ]),
      ),
    );
  }

  private async createRoom(args: string[]): Promise<void> {
    const isPrivate = args.includes('--private');
    const name = args.find((a) => a !== '--private');
    if (!name) throw usage('create_room NAME [--private]');
    let password: string | undefined;
    if (isPrivate) {
      password = await this.secret('Room password: ');
      if (!password) throw new ProtocolError('request.invalid', 'a private room needs a password; run create_room again');
      if ((await this.secret('Repeat the room password: ')) !== password) throw new ProtocolError('request.invalid', 'the two passwords differ; run create_room again');
    }
    const { room } = await this.dispatch(password === undefined ? { cmd: 'create_room', room: name } : { cmd: 'create_room', room: name, private: true, password });
    this.print(`Created ${isPrivate ? 'private' : 'public'} room ${room}. Others join with: join_room ${room}`);
  }

  private async joinRoom(name: string): Promise<void> {
    let result: CommandResult;
    try {
      result = await this.dispatch({ cmd: 'join_room', room: name });
    } catch (err) {
      // A private room says so before anything is sent; then ask for its password.
      if (!(err instanceof ProtocolError) || err.code !== 'room.bad_password' || !/private/.test(err.message)) throw err;
      const password = await this.secret(`Password of ${name}: `);
      result = await this.dispatch({ cmd: 'join_room', room: name, password });
    }
    const { room, members } = result as { room: string; members: string[] };
    this.print(new PeerText(`Joined ${visible(room)}; members: ${members.map(visible).join(', ')}.`));
  }

  private async members(room: string): Promise<void> {
    const { room: name, members } = (await this.dispatch({ cmd: 'members', room })) as { room: string; members: MemberRow[] };
    this.print(new PeerText(`${visible(name)}:`));
    this.print(
      table(
        members.map((m) => [
          '  ' + m.user,
          m.owner ? 'owner' : '',
          m.online ? 'online' : 'offline',
          m.fingerprint ? `key ${m.fingerprint.split(' ').slice(0, 4).join(' ')}...` : '',
          m.verified ? 'verified' : 'not verified',
          keyWarning(m),
        ]),
      ),
    );
  }

  /** `msg_room ROOM TEXT` / `msg USER TEXT` send once; without TEXT, every line until /quit. */
  private async message(kind: 'msg_room' | 'msg', line: string): Promise<void> {
    const match = /^\s*\S+\s+(\S+)(?:\s(.*))?$/s.exec(line);
    if (!match) throw usage(kind === 'msg_room' ? 'msg_room NAME [TEXT]' : 'msg USER [TEXT]');
    const target = match[1];
    const text = match[2] ?? '';
    const send = async (body: string) => {
      const sent = await this.dispatch(kind === 'msg_room' ? { cmd: 'msg_room', room: target, text: body } : { cmd: 'msg', user: target, text: body });
      if (this.io.verbose) this.print(`(sent ${sent.messageId} to ${sent.recipients})`);
    };
    if (text.trim()) return send(text);

    // Check the target now, so a typo shows before the first line rather than after it.
    let label: string;
    if (kind === 'msg_room') label = `[${visible(String((await this.dispatch({ cmd: 'members', room: target })).room))}]`;
    else {
      const user = normalizeUserName(target);
      if (user === this.engine!.user) throw new ProtocolError('request.invalid', 'you cannot message yourself');
      label = `[dm ${user}]`;
    }
    this.print(new PeerText(`Chat mode ${label}: each line is sent; /quit leaves.`));
    this.chatting = label;
    try {
      for (;;) {
        const next = await this.term!.read(this.prompt());
        if (next === null || next.trim() === '/quit') break;
        if (!next.trim()) continue;
        try {
          await send(next);
        } catch (err) {
          this.error(err);
        }
      }
    } finally {
      this.chatting = undefined;
    }
  }

  // ---- output ----------------------------------------------------------------------------------

  private print(text: string | PeerText): void {
    this.term!.print(text);
  }

  private error(err: unknown): void {
    if (err instanceof Cancelled) return this.print('Cancelled.');
    const { message } = describeError(err, this.engine!);
    // An error may quote what a peer or the tracker sent.
    this.print(new PeerText(`error: ${visibleLines(message, '  ')}`));
  }

  private listen(engine: ChatEngine): void {
    const me = () => engine.user;
    const show = (line: string | undefined) => line !== undefined && this.print(new PeerText(line));
    engine.on('message', (e) => show(formatMessage(e)));
    // Every field an engine event carries came from a peer or the tracker: each is made visible.
    const v = visible;
    engine.on('delivered', (e) => this.io.verbose && show(`[${v(e.room)}] delivered to ${e.count} of ${e.of}`));
    engine.on('presence', (e) => show(`* ${v(e.user)} ${e.online ? 'is online' : 'went offline'}`));
    // My own join and leave are what join_room and leave_room already said.
    engine.on('member_joined', (e) => e.user !== me() && show(`[${v(e.room)}] * ${v(e.user)} joined`));
    engine.on('member_left', (e) => e.user !== me() && show(`[${v(e.room)}] * ${v(e.user)} left`));
    engine.on('member_kicked', (e) => show(`[${v(e.room)}] * ${e.user === me() ? 'you were' : `${v(e.user)} was`} kicked by ${v(e.by)}`));
    engine.on('owner_changed', (e) => show(`[${v(e.room)}] * ${e.owner ? `${v(e.owner)} is now the owner` : 'the room has no owner now'}`));
    engine.on('room_closed', (e) => show(`[${v(e.room)}] * closed by ${v(e.by)}`));
    engine.on('key_changed', (e) =>
      show(
        `! ${v(e.user)}'s key changed${e.rooms.length ? ` (you share ${e.rooms.map(v).join(', ')})` : ''}: was ${v(e.oldFingerprint)}, now ${v(e.newFingerprint)}. ` +
          `Nothing is sent to ${v(e.user)} until you compare fingerprints with them and run: verify ${v(e.user)} ${v(e.newFingerprint.replace(/\s/g, ''))}`,
      ),
    );
    engine.on('room_forked', (e) => show(`! [${v(e.room)}] ${visibleLines(e.detail, '  ')}`));
    engine.on('typing', (e) => this.io.verbose && e.active && show(`[${v(e.room)}] ${v(e.user)} is typing...`));
    engine.on('connection', (e) => {
      const before = this.connection;
      this.connection = e.state;
      // Connecting and going online are what login and logout already say; drops and returns are news.
      if (e.state === 'reconnecting' || (e.state === 'online' && before === 'reconnecting') || (e.state === 'offline' && before === 'reconnecting')) {
        show(`* tracker: ${visibleLines(e.detail, '  ')}`);
      }
    });
    engine.on('error', (e) => show(`! ${visibleLines(e.message, '  ')}`));
  }
}

/**
 * `[room] sender: text`, later lines of the text indented under it, then the snippet if any. Every
 * field is the sender's: shown visibly, long runs of spaces as `<57 spaces>`, and no line of the
 * text can pass for a message of its own (printed as PeerText, the rows it wraps to are indented
 * too). The code keeps its spaces: indentation is what it says.
 */
export function formatMessage(e: ClientEvents['message']): string {
  const lines = [`[${e.direct ? 'dm' : visible(e.room)}] ${visible(e.from)}: ${visibleLines(markSpaceRuns(e.text), '  ')}`];
  const s = e.snippet;
  if (s) {
    lines.push(
      `  (${visible(markSpaceRuns(s.language))} snippet, ${visible(markSpaceRuns(s.path))}:${Number(s.startLine)}-${Number(s.endLine)})`,
      `    ${visibleLines(s.code, '    ')}`,
    );
  }
  return lines.join('\n');
}

/**
 * Columns padded to line up, every row indented and every cell made visible: names, addresses
 * and fingerprints come from the tracker, and a row must not start with one of them.
 */
function table(cells: string[][]): PeerText {
  const rows = cells.map((r) => r.map((cell) => visible(markSpaceRuns(cell))));
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => columnWidth(r[i]))));
  return new PeerText(rows.map((r) => '  ' + r.map((cell, i) => cell + ' '.repeat(widths[i] - columnWidth(cell))).join('  ').trimEnd()).join('\n'));
}

/** A pending key change, or the tracker showing another key than the pin: said in the row. */
function keyWarning(row: { changedTo?: string; trackerFingerprint?: string }): string {
  if (row.changedTo) return `! KEY CHANGED to ${row.changedTo.split(' ').slice(0, 4).join(' ')}...`;
  if (row.trackerFingerprint) return `! TRACKER SHOWS ANOTHER KEY ${row.trackerFingerprint.split(' ').slice(0, 4).join(' ')}...: compare out of band`;
  return '';
}

function need(words: string[], index: number, form: string): string {
  const word = words[index];
  if (!word) throw usage(form);
  return word;
}

function usage(form: string): ProtocolError {
  return new ProtocolError('request.invalid', `usage: ${form}`);
}
