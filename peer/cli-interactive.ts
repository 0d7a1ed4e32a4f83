// `node peer`: the interactive terminal client (DESIGN.md "Terminal client"). The original's
// commands, typed one per line; passwords asked for without echo; incoming messages and events
// printed above the line being typed (terminal.ts). Every command runs through the dispatcher the
// `--json` mode uses (cli-commands.ts) and is printed by cli-format.ts; this file reads a typed
// line, asks what the command needs, and says what happened.

import { HISTORY_PAGE_DEFAULT, HISTORY_PAGE_MAX, type ClientCommandName, type CommandOf, type CommandResults } from '../protocol/client.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { normalizeUserName } from '../protocol/names.ts';
import { visible, visibleLines } from '../protocol/text.ts';
import { checkPasswordPolicy } from './account.ts';
import { describeError, findCommand, hasSavedSession, runCommand } from './cli-commands.ts';
import { ChatMode } from './cli-chat.ts';
import { isUserName, typedAction, typedSearch, usageError, type Where } from './cli-message-actions.ts';
import { printEvents } from './cli-events.ts';
import { historyText, RESULT_LINES, type ResultLines } from './cli-format.ts';
import type { ChatEngine } from './engine.ts';
import { PeerText, Terminal, type TerminalInput, type TerminalOutput } from './terminal.ts';

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
    if (!word) throw usageError(this.usage);
    return word;
  }
}

/** What a command does when typed; true to quit. null: `--json` only. */
type Action = ((typed: Typed) => Promise<boolean | void>) | null;

const YES = /^\s*y(es)?\s*$/i;
/** Words other programs quit with: an unknown command that is one of them points to `exit`. */
const QUIT_WORDS = new Set(['quit', 'q', ':q', 'bye', 'logoff', '/quit', '/exit']);

export class InteractiveMode {
  // All set by run(), before anything reads them.
  private term!: Terminal;
  private engine!: ChatEngine;
  private chat!: ChatMode;

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
    this.chat = new ChatMode(term, (err) => this.error(err));
    printEvents(engine, (text) => this.print(text), this.io.verbose);
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
    return this.chat.prompt ?? `${this.engine.user ?? ''}> `;
  }

  private interrupt(): void {
    const term = this.term;
    // Ctrl-C cancels a question, leaves chat mode, clears a typed line, and otherwise quits.
    if (term.waiting === 'secret' || term.waiting === 'question') term.answer(null);
    else if (this.chat.interrupt()) return;
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
      // People type what other programs quit with: say which word does it here.
      const quitting = QUIT_WORDS.has(name.toLowerCase());
      this.print(`error: unknown command "${name}"; ${quitting ? 'exit quits (your session stays saved and resumes next time)' : 'type help for the list'}`);
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
    help: () => this.perform({ cmd: 'help' }),
    exit: async () => true,
    register: (t) => this.register(t.words[1]),
    login: (t) => this.login(t.words[1]),
    logout: async (t) => {
      if (t.words[1] !== undefined && t.words[1] !== 'everywhere') return this.print('Not logged out: type logout, or logout everywhere (every device of yours).');
      return this.perform({ cmd: 'logout', ...(t.words[1] === 'everywhere' ? { everywhere: true } : {}) });
    },
    list_peers: () => this.perform({ cmd: 'list_peers' }),
    list_rooms: () => this.perform({ cmd: 'list_rooms' }),
    list_conn: () => this.perform({ cmd: 'list_conn' }),
    create_room: (t) => this.createRoom(t),
    join_room: (t) => this.joinRoom(t.arg(1)),
    leave_room: (t) => this.forcible('leave_room', t),
    close_room: (t) => this.forcible('close_room', t),
    kick: (t) => this.perform({ cmd: 'kick', room: t.arg(1), user: t.arg(2) }),
    members: (t) => this.perform({ cmd: 'members', room: t.arg(1) }),
    msg_room: (t) => this.message('msg_room', t),
    msg: (t) => this.message('msg', t),
    typing: null,
    history: (t) => this.history(t),
    outbox: () => this.perform({ cmd: 'outbox' }),
    reply: (t) => this.act('reply', t),
    react: (t) => this.act('react', t),
    edit: (t) => this.act('edit', t),
    delete: (t) => this.act('delete', t),
    mark_read: (t) => this.act('mark_read', t),
    search: (t) => this.perform(typedSearch(t.line, t.usage) as CommandOf<'search'> & { cmd: 'search' }),
    fingerprint: (t) => this.perform(t.words[1] ? { cmd: 'fingerprint', user: t.words[1] } : { cmd: 'fingerprint' }),
    verify: (t) => this.verify(t),
  };

  /** `reply`, `react`, `edit`, `delete`, `mark_read` as typed (cli-message-actions.ts). */
  private async act(name: 'reply' | 'react' | 'edit' | 'delete' | 'mark_read', t: Typed): Promise<void> {
    const history = (where: Where, limit: number) => this.command({ cmd: 'history', ...where, limit });
    const cmd = await typedAction(name, t.line, t.usage, history);
    await this.perform(cmd as CommandOf<typeof name> & { cmd: typeof name });
  }

  /** Runs one command through the dispatcher both modes share; the result is typed by its name. */
  private command<K extends ClientCommandName>(cmd: CommandOf<K> & { cmd: K }): Promise<CommandResults[K]> {
    return runCommand<K>(this.engine, cmd);
  }

  /** Runs one command and prints what it says. */
  private async perform<K extends ClientCommandName>(cmd: CommandOf<K> & { cmd: K }): Promise<void> {
    this.say(cmd.cmd, await this.command<K>(cmd));
  }

  /** Prints what a command's result says (cli-format.ts RESULT_LINES). */
  private say<K extends ClientCommandName>(name: K, result: CommandResults[K]): void {
    const line: ResultLines[K] = RESULT_LINES[name];
    const shown = line?.(result, { me: this.engine.user, verbose: this.io.verbose });
    if (shown !== undefined) this.print(shown);
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
    await this.perform({ cmd: 'login', user, password });
  }

  private async login(given?: string): Promise<void> {
    const engine = this.engine;
    if (engine.user) throw new ProtocolError('auth.already_authenticated', `already logged in as ${engine.user}; log out first`);
    const user = normalizeUserName(given ?? (await this.ask('User name: ')));
    if (hasSavedSession(engine, user)) {
      try {
        return await this.perform({ cmd: 'login', user });
      } catch (err) {
        if (!(err instanceof ProtocolError) || err.code !== 'auth.required') throw err;
      }
    }
    await this.perform({ cmd: 'login', user, password: await this.secret('Password: ') });
  }

  /** `leave_room NAME [--force]`, `close_room NAME [--force]`: a refusal as undelivered says how to do it anyway. */
  private async forcible(cmd: 'leave_room' | 'close_room', t: Typed): Promise<void> {
    const name = t.words.slice(1).find((a) => a !== '--force');
    if (!name) throw usageError(t.usage);
    try {
      await this.perform({ cmd, room: name, ...(t.words.includes('--force') ? { force: true } : {}) });
    } catch (err) {
      if (err instanceof ProtocolError && err.code === 'room.undelivered') throw new ProtocolError(err.code, `${err.message} (${cmd} ${name} --force)`);
      throw err;
    }
  }

  private async createRoom(t: Typed): Promise<void> {
    const isPrivate = t.words.includes('--private');
    const name = t.words.slice(1).find((a) => a !== '--private');
    if (!name) throw usageError(t.usage);
    let password: string | undefined;
    if (isPrivate) {
      password = await this.secret('Room password: ');
      if (!password) throw new ProtocolError('request.invalid', 'a private room needs a password; run create_room again');
      if ((await this.secret('Repeat the room password: ')) !== password) throw new ProtocolError('request.invalid', 'the two passwords differ; run create_room again');
    }
    await this.perform(password === undefined ? { cmd: 'create_room', room: name } : { cmd: 'create_room', room: name, private: true, password });
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
    this.say('join_room', joined);
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
    await this.perform({ cmd: 'verify', user, fingerprint });
  }

  /**
   * `history NAME [N]`: a room I am in by that name (or id), else my direct conversation with the
   * user of that name; `@USER` always means the user (`@` is in no name, so it cannot clash).
   */
  private async history(t: Typed): Promise<void> {
    const ref = t.arg(1);
    const count = t.words[2];
    if (t.words.length > 3 || (count !== undefined && !/^\d{1,4}$/.test(count))) throw usageError(t.usage);
    const limit = count === undefined ? HISTORY_PAGE_DEFAULT : Number(count);
    if (limit < 1 || limit > HISTORY_PAGE_MAX) throw new ProtocolError('request.invalid', `N is 1 to ${HISTORY_PAGE_MAX}`);
    let page: CommandResults['history'];
    if (ref.startsWith('@')) page = await this.command({ cmd: 'history', user: ref.slice(1), limit });
    else {
      try {
        page = await this.command({ cmd: 'history', room: ref, limit });
      } catch (err) {
        // Not a room of mine: the name may be a user's (a name that is not a user name keeps the room's error).
        if (!(err instanceof ProtocolError) || err.code !== 'room.not_found' || !isUserName(ref)) throw err;
        page = await this.command({ cmd: 'history', user: ref, limit });
      }
    }
    this.print(historyText(page, this.engine.user, ref, limit));
  }

  /** `msg_room ROOM TEXT` / `msg USER TEXT` send once; without TEXT, every line until /quit. */
  private async message(kind: 'msg_room' | 'msg', t: Typed): Promise<void> {
    const match = /^\s*\S+\s+(\S+)(?:\s(.*))?$/s.exec(t.line);
    if (!match) throw usageError(t.usage);
    const target = match[1];
    const text = match[2] ?? '';
    const send = (body: string) => (kind === 'msg_room' ? this.perform({ cmd: 'msg_room', room: target, text: body }) : this.perform({ cmd: 'msg', user: target, text: body }));
    if (text.trim()) return send(text);

    // Check the target now, so a typo shows before the first line rather than after it.
    let label: string;
    if (kind === 'msg_room') label = `[${visible((await this.command({ cmd: 'members', room: target })).room)}]`;
    else {
      const user = normalizeUserName(target);
      if (user === this.engine.user) throw new ProtocolError('request.invalid', 'you cannot message yourself');
      label = `[dm ${user}]`;
    }
    await this.chat.run(label, send);
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
}

