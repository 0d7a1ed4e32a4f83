// `node peer`: parse flags, lock the data folder (peer/folder-lock.ts: one engine per folder; a
// second client on a folder in use exits at once naming the holder), build the engine, run the
// interactive or the `--json` mode, and close the engine cleanly (state flushed, the saved session
// kept) and release the folder on exit, EOF, SIGINT or SIGTERM.

import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseTrackerAddress } from '../protocol/address.ts';
import { isCoded, ProtocolError, type ErrorCode } from '../protocol/errors.ts';
import { DEFAULT_TRACKER_PORT } from '../protocol/tracker.ts';
import { commandHelp } from './cli-format.ts';
import { InteractiveMode } from './cli-interactive.ts';
import { JsonMode } from './cli-json.ts';
import { ChatEngine } from './engine.ts';
import { acquire, describeHolder, type FolderLock } from './folder-lock.ts';
import { jsonLine } from './cli-json.ts';

const USAGE = `Usage: node peer [PORT] [--tracker HOST:PORT] [--data DIR] [--json] [--verbose] [--help]

  PORT                 port peers connect to (default 0: any free port)
  --tracker HOST:PORT  the tracker (default 127.0.0.1:${DEFAULT_TRACKER_PORT})
  --data DIR           keep the session, keys and rooms in DIR (default ~/.p2p-chat/<user>)
  --json               one JSON command per stdin line, one JSON answer or event per stdout line
  --verbose, -v        also print delivery counts and typing notices
  --help, -h           this text

On start, a session saved in the data folder resumes without the password. Messages are kept
there too: \`history ROOM\` shows them after a restart, and a message for someone offline waits
in the outbox (\`outbox\` lists them) and is sent when they are back.`;

class UsageError extends Error {}

interface Flags {
  port: number;
  tracker: { host: string; port: number };
  data?: string;
  json: boolean;
  verbose: boolean;
  help: boolean;
}

function parseFlags(argv: string[]): Flags {
  const flags: Flags = { port: 0, tracker: { host: '127.0.0.1', port: DEFAULT_TRACKER_PORT }, json: false, verbose: false, help: false };
  let portSeen = false;
  for (let i = 0; i < argv.length; i++) {
    const [arg, inline] = argv[i].startsWith('--') && argv[i].includes('=') ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)] : [argv[i], undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--help':
      case '-h':
        flags.help = true;
        break;
      case '--json':
        flags.json = true;
        break;
      case '--verbose':
      case '-v':
        flags.verbose = true;
        break;
      case '--tracker':
        flags.tracker = trackerFlag(value());
        break;
      case '--data':
        flags.data = resolve(value());
        break;
      default:
        if (arg.startsWith('-') || portSeen) throw new UsageError(`unknown argument ${arg}`);
        flags.port = parsePort(arg, 'PORT');
        portSeen = true;
    }
  }
  return flags;
}

/** --tracker: HOST:PORT, HOST alone (the default port), or [IPv6]:PORT (protocol/address.ts). */
function trackerFlag(text: string): { host: string; port: number } {
  try {
    return parseTrackerAddress(text);
  } catch (err) {
    if (err instanceof ProtocolError) throw new UsageError(`--tracker: ${err.message}`);
    throw err;
  }
}

function parsePort(text: string, what: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new UsageError(`${what} must be a number from 0 to 65535, not ${text}`);
  return port;
}

async function main(): Promise<void> {
  let flags: Flags;
  try {
    flags = parseFlags(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`error: ${err.message}; node peer --help shows the usage\n`);
    process.exit(2);
  }
  if (flags.help) {
    process.stdout.write(`${USAGE}\n\n${commandHelp()}\n\nWith --json: {"id": 1, "cmd": "help"} lists the commands and their fields.\n`);
    return;
  }
  if (flags.json) {
    // stdout carries JSON lines only: anything logged goes to stderr.
    console.log = console.info = console.debug = console.error;
  }

  // One engine per data folder (peer/folder-lock.ts): the folder is locked before the engine
  // touches it, or this client ends at once naming the process that holds it. The terminal client
  // does not attach to a running engine: it refuses.
  const dataDir = flags.data ?? join(homedir(), '.p2p-chat');
  const lock = await lockDataFolder(dataDir, flags.json);

  let engine: ChatEngine | undefined;
  let exiting: Promise<never> | undefined;
  const exit = (code: number): Promise<never> =>
    (exiting ??= (async () => {
      try {
        await engine?.close();
      } catch (err) {
        process.stderr.write(`error while closing: ${(err as Error).message}\n`);
      }
      // After the engine's last write: a client started next finds the folder free and complete.
      lock.release();
      // Let the last answer reach the pipe before the process ends.
      await new Promise<void>((done) => process.stdout.write('', () => done()));
      process.exit(code);
    })());
  process.once('SIGINT', () => void exit(0));
  process.once('SIGTERM', () => void exit(0));
  // The engine runs some work fire-and-forget; a failure there is reported, never a crash.
  process.on('unhandledRejection', (err) => process.stderr.write(`warning: ${(err as Error)?.stack ?? String(err)}\n`));

  const mode = flags.json ? new JsonMode({ input: process.stdin, output: process.stdout }) : new InteractiveMode({ input: process.stdin, output: process.stdout, verbose: flags.verbose, exit });
  engine = new ChatEngine({
    dataDir,
    perUserFolders: flags.data === undefined,
    tracker: flags.tracker,
    peerPort: flags.port,
    trustTracker: mode.trustTracker,
  });
  const code = await mode.run(engine);
  await exit(code);
}

/**
 * Takes the lock of the data folder `dir` for this process. When another process holds it (or
 * the lock cannot be taken), writes why (with --json: one `error` event line with code
 * `server.data_in_use` on stdout; always a sentence on stderr) and exits with status 1.
 */
async function lockDataFolder(dir: string, json: boolean): Promise<FolderLock> {
  let message: string;
  let code: ErrorCode = 'server.data_in_use';
  try {
    const result = await acquire(dir, { program: 'node peer' });
    if (result.lock) return result.lock;
    message = `the data folder ${dir} is in use by ${describeHolder(result.heldBy)}; use that client, or start this one with --data <another folder>`;
  } catch (err) {
    // Held by something that does not answer as a holder (server.data_in_use), or the folder
    // cannot be made or reached (an fs error: internal).
    code = isCoded(err) ? err.code : 'internal';
    message = `the data folder ${dir} cannot be locked: ${(err as Error).message}`;
  }
  if (json) process.stdout.write(jsonLine({ event: 'error', code, message }));
  process.stderr.write(`p2p-chat: ${message}\n`);
  await new Promise<void>((done) => process.stdout.write('', () => done()));
  process.exit(1);
}

main().catch((err) => {
  process.stderr.write(`error: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
