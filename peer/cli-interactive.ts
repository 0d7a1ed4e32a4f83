// `node peer`: the interactive terminal client (DESIGN.md "Terminal client"). The original's
// commands, typed one per line; passwords asked for without echo; incoming messages and events
// printed above the line being typed (terminal.ts). Every command runs through the dispatcher the
// `--json` mode uses (cli-commands.ts) and is printed by cli-format.ts; this file reads a typed
// line, asks what the command needs, and says what happened.

import type { ClientCommandName, ClientEventName, ClientEvents, CommandOf, CommandResults } from '../protocol/client.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { normalizeUserName } from '../protocol/names.ts';
import { visible, visibleLines } from '../protocol/text.ts';
import { checkPasswordPolicy } from './account.ts';
import { describeError, findCommand, hasSavedSession, runCommand } from './cli-commands.ts';
import { commandHelp, connectionLine, EVENT_LINES, fingerprintLine, linksTable, membersTable, peersTable, roomsTable } from './cli-format.ts';
import type { ChatEngine } from './engine.ts';
import { PeerText, Terminal, type TerminalInput, type TerminalOutput } from './terminal.ts';

export { commandHelp } from './cli-format.ts';

export interface InteractiveIo {
  input: TerminalInput;
  output: TerminalOutput;
  /** Also print delivery counts and typing notices. */
  verbose: boolean;
  /** Closes the engine and ends the process (Ctrl-C). */
  exit(code: number): Promise<never>;
}

/** A question was cancelled (Ctrl-C) or stdin ended while asking. */
class Cancelled extends Error {}

/** A typed line: its words, and the command's usage (from COMMANDS) for a missing argument. */
class Typed {
  readonly words: string[];
  constructor(readonly line: string, readonly usage: string) {
    this.words = line.trim().split(/\s+/);
  }

  /** The argument at `index` (1 is the first after the command), or a usage error. */
  arg(index: number): string {
    const word = this.words[index];
    if (!word) throw usage(this.usage);
    return word;
  }
}

/** What a command does when typed; true to quit. null: `--json` only. */
type Action = ((typed: Typed) => Promise<boolean | void>) | null;

const YES = /^\s*y(es)?\s*$/i;

export class InteractiveMode {
  // Both set by run(), before anything reads them.
  private term!: Terminal;
  private engine!: ChatEngine;
  /** The chat mode's target while in it. */
  private chatting?: string;
  private connection: ClientEvents['connection']['state'] = 'offline';

  constructor(private readonly io: InteractiveIo) {}

  /** First use of a tracker: show its fingerprint and ask, like SSH. */
  readonly trustTracker = async (fingerprint: string, address: string): Promise<boolean> => {
    const term = this.term;
    term.print(`First connection to the tracker at ${address}. Its certificate fingerprint (SHA-256) is:`);
    term.print(`  ${fingerprint}`);
    term.print('Compare it with the fingerprint `node tracker` printed when it started.');
    return YES.test((await term.read('Trust this tracker? [y/N] ', 'question')) ?? '');
  };

  /** Reads and runs commands until `exit` or the end of stdin; resolves with the exit code. */
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
    const engine = this.engine;
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
    return `${this.chatting ?? this.engine.user ?? ''}> `;
  }

  private interrupt(): void {
    const term = this.term;
    // Ctrl-C cancels a question, leaves chat mode, clears a typed line, and otherwise quits.
    if (term.waiting === 'secret' || term.waiting === 'question') term.answer(null);
    else if (term.waiting === 'command' && this.chatting) term.answer('/quit');
    else if (term.waiting === 'command' && term.clearTypedLine()) return;
    else {
      term.close();
      void this.io.exit(0);
    }
  }

  /** Runs one typed line; true to quit. The command is looked up in COMMANDS (cli-commands.ts). */
  private async execute(line: string): Promise<boolean> {
    const name = line.trim().split(/\s+/)[0];
    if (!name) return false;
    const command = findCommand(name);
    const action = command && !command.jsonOnly ? this.actions[command.name] : null;
    if (!command || !action) {
      this.print(`error: unknown command "${name}"; type help for the list`);
      return false;
    }
    try {
      return (await action(new Typed(line, command.usage))) === true;
    } catch (err) {
      this.error(err);
      return false;
    }
  }

  /** One action per command; the mapped type makes a command left out a compile error. */
  private readonly actions: { [K in ClientCommandName]: Action } = {
    help: async () => this.print(commandHelp()),
    exit: async () => true,
    register: (t) => this.register(t.words[1]),
    login: (t) => this.login(t.words[1]),
    logout: async () => {
      const { user } = await this.command({ cmd: 'logout' });
      this.print(`Logged out ${user}; the saved session is forgotten.`);
    },
    list_peers: async () => this.print(peersTable((await this.command({ cmd: 'list_peers' })).peers, this.engine.user)),
    list_rooms: async () => this.print(roomsTable((await this.command({ cmd: 'list_rooms' })).rooms)),
    list_conn: async () => this.print(linksTable((await this.command({ cmd: 'list_conn' })).links)),
    create_room: (t) => this.createRoom(t),
    join_room: (t) => this.joinRoom(t.arg(1)),
    leave_room: async (t) => {
      const { room } = await this.command({ cmd: 'leave_room', room: t.arg(1) });
      this.print(new PeerText(`Left ${visible(room)}.`));
    },
    close_room: async (t) => {
      const { room } = await this.command({ cmd: 'close_room', room: t.arg(1) });
      this.print(new PeerText(`Closed ${visible(room)}.`));
    },
    kick: async (t) => {
      const { room, user } = await this.command({ cmd: 'kick', room: t.arg(1), user: t.arg(2) });
      this.print(new PeerText(`Kicked ${visible(user)} from ${visible(room)}.`));
    },
    members: async (t) => {
      const { room, members } = await this.command({ cmd: 'members', room: t.arg(1) });
      this.print(membersTable(room, members));
    },
    msg_room: (t) => this.message('msg_room', t),
    msg: (t) => this.message('msg', t),
    typing: null,
    fingerprint: async (t) => {
      const user = t.words[1];
      this.print(fingerprintLine(await this.command(user ? { cmd: 'fingerprint', user } : { cmd: 'fingerprint' }), this.engine.user));
    },
    verify: (t) => this.verify(t),
  };

  /** Runs one command through the dispatcher both modes share; the result is typed by its name. */
  private command<K extends ClientCommandName>(cmd: CommandOf<K> & { cmd: K }): Promise<CommandResults[K]> {
    return runCommand<K>(this.engine, cmd);
  }

  private async ask(prompt: string): Promise<string> {
    const answer = await this.term.read(prompt, 'question');
    if (answer === null) throw new Cancelled();
    return answer.trim();
  }

  private async secret(prompt: string): Promise<string> {
    const answer = await this.term.read(prompt, 'secret');
    if (answer === null) throw new Cancelled();
    return answer;
  }

  private async register(given?: string): Promise<void> {
    const user = normalizeUserName(given ?? (await this.ask('User name: ')));
    const password = await this.secret('Password (15 or more characters; a few unrelated words): ');
    // Checked before the second prompt, so a refused password costs one prompt, not two.
    checkPasswordPolicy(password, user);
    if ((await this.secret('Repeat the password: ')) !== password) throw new ProtocolError('request.invalid', 'the two passwords differ; run register again');
    await this.command({ cmd: 'register', user, password });
    if (this.engine.user) {
      this.print(`Registered ${user}. Log out, then log in as ${user} to use it.`);
      return;
    }
    this.print(`Registered ${user}; logging in...`);
    await this.command({ cmd: 'login', user, password });
    this.print(`Logged in as ${user}; peers reach you on port ${this.engine.peerPort}.`);
  }

  private async login(given?: string): Promise<void> {
    const engine = this.engine;
    if (engine.user) throw new ProtocolError('auth.already_authenticated', `already logged in as ${engine.user}; log out first`);
    const user = normalizeUserName(given ?? (await this.ask('User name: ')));
    if (hasSavedSession(engine, user)) {
      try {
        await this.command({ cmd: 'login', user });
        this.print(`Logged in as ${user} (saved session); peers reach you on port ${engine.peerPort}.`);
        return;
      } catch (err) {
        if (!(err instanceof ProtocolError) || err.code !== 'auth.required') throw err;
      }
    }
    const password = await this.secret('Password: ');
    await this.command({ cmd: 'login', user, password });
    this.print(`Logged in as ${user}; peers reach you on port ${engine.peerPort}.`);
  }

  private async createRoom(t: Typed): Promise<void> {
    const isPrivate = t.words.includes('--private');
    const name = t.words.slice(1).find((a) => a !== '--private');
    if (!name) throw usage(t.usage);
    let password: string | undefined;
    if (isPrivate) {
      password = await this.secret('Room password: ');
      if (!password) throw new ProtocolError('request.invalid', 'a private room needs a password; run create_room again');
      if ((await this.secret('Repeat the room password: ')) !== password) throw new ProtocolError('request.invalid', 'the two passwords differ; run create_room again');
    }
    const { room } = await this.command(password === undefined ? { cmd: 'create_room', room: name } : { cmd: 'create_room', room: name, private: true, password });
    this.print(new PeerText(`Created ${isPrivate ? 'private' : 'public'} room ${visible(room)}. Others join with: join_room ${visible(room)}`));
  }

  private async joinRoom(name: string): Promise<void> {
    let joined: CommandResults['join_room'];
    try {
      joined = await this.command({ cmd: 'join_room', room: name });
    } catch (err) {
      // Joined without a password, room.bad_password can only mean the room is private (the
      // engine says so before anything is sent): ask for its password and try once more.
      if (!(err instanceof ProtocolError) || err.code !== 'room.bad_password') throw err;
      const password = await this.secret(`Password of ${name}: `);
      joined = await this.command({ cmd: 'join_room', room: name, password });
    }
    this.print(new PeerText(`Joined ${visible(joined.room)}; members: ${joined.members.map(visible).join(', ')}.`));
  }

  /** `verify USER FINGERPRINT`; without FINGERPRINT, shows the key pinned here and asks whether it matches. */
  private async verify(t: Typed): Promise<void> {
    const user = t.arg(1);
    // The fingerprint is shown in groups; take the rest of the line, spaces and all.
    let fingerprint = t.words.slice(2).join('');
    if (!fingerprint) {
      // Verify exactly the key shown, never one fetched after the question.
      const shown = await this.command({ cmd: 'fingerprint', user });
      fingerprint = shown.changedTo ?? shown.fingerprint;
      this.print(`${visible(shown.user)}'s ${shown.changedTo ? 'new key (not accepted yet)' : 'key'} as pinned here: ${fingerprint}`);
      this.print(`Compare it with what \`fingerprint\` shows on ${visible(shown.user)}'s own screen (read aloud, or over another channel).`);
      if (!YES.test((await this.term.read('Do they match? [y/N] ', 'question')) ?? '')) {
        this.print(`Not verified: ${visible(shown.user)}'s key stays unverified.`);
        return;
      }
    }
    const verified = await this.command({ cmd: 'verify', user, fingerprint });
    this.print(`Verified ${visible(verified.user)}: ${verified.fingerprint}.`);
  }

  /** `msg_room ROOM TEXT` / `msg USER TEXT` send once; without TEXT, every line until /quit. */
  private async message(kind: 'msg_room' | 'msg', t: Typed): Promise<void> {
    const match = /^\s*\S+\s+(\S+)(?:\s(.*))?$/s.exec(t.line);
    if (!match) throw usage(t.usage);
    const target = match[1];
    const text = match[2] ?? '';
    const send = async (body: string) => {
      const sent = kind === 'msg_room' ? await this.command({ cmd: 'msg_room', room: target, text: body }) : await this.command({ cmd: 'msg', user: target, text: body });
      if (this.io.verbose) this.print(`(sent ${sent.messageId} to ${sent.recipients})`);
    };
    if (text.trim()) return send(text);

    // Check the target now, so a typo shows before the first line rather than after it.
    let label: string;
    if (kind === 'msg_room') label = `[${visible((await this.command({ cmd: 'members', room: target })).room)}]`;
    else {
      const user = normalizeUserName(target);
      if (user === this.engine.user) throw new ProtocolError('request.invalid', 'you cannot message yourself');
      label = `[dm ${user}]`;
    }
    this.print(new PeerText(`Chat mode ${label}: each line is sent; /quit leaves.`));
    this.chatting = label;
    try {
      for (;;) {
        const next = await this.term.read(this.prompt());
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
    this.term.print(text);
  }

  private error(err: unknown): void {
    if (err instanceof Cancelled) return this.print('Cancelled.');
    const { message } = describeError(err, this.engine);
    // An error may quote what a peer or the tracker sent.
    this.print(new PeerText(`error: ${visibleLines(message, '  ')}`));
  }

  /** Prints each engine event's line (cli-format.ts EVENT_LINES) as peer text. */
  private listen(engine: ChatEngine): void {
    const show = <K extends ClientEventName>(name: K) => (e: ClientEvents[K]) => {
      const line = EVENT_LINES[name]?.(e, { me: engine.user, verbose: this.io.verbose });
      if (line !== undefined) this.print(new PeerText(line));
    };
    engine.on('message', show('message'));
    engine.on('delivered', show('delivered'));
    engine.on('presence', show('presence'));
    engine.on('member_joined', show('member_joined'));
    engine.on('member_left', show('member_left'));
    engine.on('member_kicked', show('member_kicked'));
    engine.on('owner_changed', show('owner_changed'));
    engine.on('room_closed', show('room_closed'));
    engine.on('key_changed', show('key_changed'));
    engine.on('room_forked', show('room_forked'));
    engine.on('typing', show('typing'));
    engine.on('error', show('error'));
    engine.on('connection', (e) => {
      const line = connectionLine(this.connection, e);
      this.connection = e.state;
      if (line !== undefined) this.print(new PeerText(line));
    });
  }
}

function usage(form: string): ProtocolError {
  return new ProtocolError('request.invalid', `usage: ${form}`);
}
