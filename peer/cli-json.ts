// `node peer --json`: the terminal client for scripts, bots and tests (DESIGN.md "Terminal
// client"). One JSON command per stdin line, handled in order, one at a time, so a bot can
// pipeline; one JSON answer per command and one JSON line per engine event on stdout, and nothing
// else there (logs go to stderr). Bad input gets an answer with a code, never a crash: the
// bittorrent-tracker rule (STYLE.md §4) applied to our own stdin.

import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { clientCommandSchema, commandIdSchema, type ClientCommand, type ClientEventName } from '../protocol/client.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { describeError, runCommand, type CommandFailure } from './cli-commands.ts';
import type { ChatEngine } from './engine.ts';

/** Every engine event, forwarded as is; `satisfies` makes a new event in ClientEvents a compile error here until it is listed. */
const FORWARDED = {
  ready: true,
  message: true,
  delivered: true,
  waiting: true,
  expired: true,
  gap: true,
  presence: true,
  member_joined: true,
  member_left: true,
  member_kicked: true,
  owner_changed: true,
  room_closed: true,
  key_changed: true,
  room_forked: true,
  typing: true,
  reaction: true,
  edited: true,
  deleted: true,
  read: true,
  connection: true,
  directory_changed: true,
  error: true,
} satisfies Record<ClientEventName, true>;
export const EVENT_NAMES = Object.keys(FORWARDED) as ClientEventName[];

const EXAMPLE = '{"id": 1, "cmd": "help"}';

export interface JsonIo {
  input: Readable;
  output: Writable;
}

export class JsonMode {
  private corked = false;
  private engine?: ChatEngine;

  constructor(private readonly io: JsonIo) {}

  /**
   * A tracker seen for the first time is accepted and pinned (SSH's accept-new): a script has
   * nobody to ask. The fingerprint is reported so whoever runs the script can compare it.
   */
  readonly trustTracker = (fingerprint: string, address: string): boolean => {
    const where = this.engine ? ` in ${this.engine.data.root}/known-trackers.json` : '';
    this.write({
      event: 'connection',
      state: 'connecting',
      detail: `first connection to the tracker at ${address}: trusted its certificate fingerprint (SHA-256) ${fingerprint} and pinned it${where} (accept-new)`,
    });
    return true;
  };

  /** Resolves with the exit code once `exit` was answered or stdin ended. */
  run(engine: ChatEngine): Promise<number> {
    this.engine = engine;
    for (const name of EVENT_NAMES) engine.on(name, ((payload: object) => this.write({ event: name, ...payload })) as never);

    return new Promise((resolve) => {
      let queue = this.start();
      let done = false;
      const rl = createInterface({ input: this.io.input, crlfDelay: Infinity, terminal: false });
      rl.on('line', (line) => {
        queue = queue.then(async () => {
          if (done) return;
          if (await this.handle(line)) {
            done = true;
            rl.close();
            resolve(0);
          }
        });
      });
      // EOF is `exit`, after whatever is still queued.
      rl.on('close', () => void queue.then(() => resolve(0)));
    });
  }

  /** Resumes the session saved in the data folder, if any: no password. */
  private async start(): Promise<void> {
    const engine = this.engine!;
    try {
      if (!(await engine.resume())) {
        this.write({ event: 'connection', state: 'offline', detail: `no saved session in ${engine.data.root}: register or log in` });
      }
    } catch (err) {
      this.write({ event: 'error', ...describeError(err, engine) });
    }
  }

  /** Answers one line; true when it was a successful `exit`. */
  private async handle(line: string): Promise<boolean> {
    if (line.trim() === '') return false;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      this.fail(null, { code: 'request.invalid', message: `not JSON (${(err as Error).message}): send one command per line, like ${EXAMPLE}` });
      return false;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.fail(null, { code: 'request.invalid', message: `a command is a JSON object, like ${EXAMPLE}` });
      return false;
    }
    let id: number | null;
    let cmd: ClientCommand;
    try {
      id = commandIdSchema.parse((value as { id?: unknown }).id, 'id') ?? null;
    } catch (err) {
      this.fail(null, failure(err, `; "id" is optional and, when given, a whole number of 0 or more`));
      return false;
    }
    try {
      cmd = clientCommandSchema.parse(value);
    } catch (err) {
      this.fail(id, failure(err, `; {"id": ${id ?? 1}, "cmd": "help"} lists the commands and their fields`));
      return false;
    }
    try {
      const result = await runCommand(this.engine!, cmd);
      this.write({ id, ok: true, ...result });
      return cmd.cmd === 'exit';
    } catch (err) {
      this.fail(id, describeError(err, this.engine!));
      return false;
    }
  }

  private fail(id: number | null, error: CommandFailure): void {
    this.write({ id, ok: false, error });
  }

  private write(value: object): void {
    // Lines written in one turn of the event loop go out in one write: a burst of events is not
    // one pipe write each.
    const out = this.io.output as NodeJS.WritableStream & { cork?: () => void; uncork?: () => void };
    if (!this.corked && out.cork && out.uncork) {
      this.corked = true;
      out.cork();
      process.nextTick(() => {
        this.corked = false;
        out.uncork!();
      });
    }
    out.write(jsonLine(value));
  }
}

/**
 * One JSON line. JSON.stringify already escapes C0 controls and lone surrogates; DEL, C1 controls,
 * line separators and invisible format characters (bidi overrides among them) are escaped too, so
 * that a --json client run in a terminal shows peers' text inert. The parsed value is unchanged.
 */
export function jsonLine(value: object): string {
  return JSON.stringify(value).replace(/[\u007f-\u009f\u2028\u2029]|\p{Cf}/gu, escapeUnits) + '\n';
}

/** `ch` as \\uXXXX escapes, one per UTF-16 unit (a surrogate pair for a character past U+FFFF). */
function escapeUnits(ch: string): string {
  let out = '';
  for (let i = 0; i < ch.length; i++) out += `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`;
  return out;
}

function failure(err: unknown, hint: string): CommandFailure {
  if (err instanceof ProtocolError) return { code: err.code, message: err.message + hint };
  return { code: 'request.invalid', message: String((err as Error)?.message ?? err) + hint };
}
