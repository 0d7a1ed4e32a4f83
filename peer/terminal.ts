// The terminal the interactive client reads from and prints to (DESIGN.md "Terminal client"): one
// reader of stdin at a time (the command loop, a password prompt, a question), lines typed ahead
// kept in order, password prompts without echo, and printed lines put above the line being typed,
// which is then drawn again. Text a peer chose is cut into rows of the terminal width here.

import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';
import { Writable, type Readable } from 'node:stream';
import { visible, visibleLines, wrapRows } from '../protocol/text.ts';

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

export type TerminalInput = Readable & { isTTY?: boolean };
export type TerminalOutput = Writable & { isTTY?: boolean; columns?: number };

/** What a read is for: a command line, a question answered in the clear, or a secret (no echo). */
export type ReadKind = 'command' | 'question' | 'secret';

/**
 * Lines from stdin, one reader at a time, whoever asks next: the command loop, a password
 * prompt, or the tracker trust question. Lines typed ahead wait in order.
 */
export class Terminal {
  /** Both ends are a terminal: prompts are drawn, typed lines are edited by readline. */
  readonly tty: boolean;
  /** Called on Ctrl-C (a TTY only): the owner decides what it cancels. */
  onInterrupt?: () => void;
  private readonly rl: Interface;
  private readonly lines: string[] = [];
  private waiter?: { kind: ReadKind; prompt: string; resolve(line: string | null): void };
  private muted = false;
  private closed = false;

  constructor(private readonly output: TerminalOutput, input: TerminalInput) {
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

  /** What the current read is for; undefined when nobody is reading. */
  get waiting(): ReadKind | undefined {
    return this.waiter?.kind;
  }

  /** Clears the line being typed at the prompt; false when it was empty already. */
  clearTypedLine(): boolean {
    if (this.rl.line.length === 0) return false;
    this.rl.write(null, { ctrl: true, name: 'e' });
    this.rl.write(null, { ctrl: true, name: 'u' });
    return true;
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

  /** Stops reading stdin; a pending read gets null. */
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
