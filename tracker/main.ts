// `node tracker`: parse flags, open the database and the TLS material, listen, and close cleanly
// on SIGINT/SIGTERM. Everything else lives in the modules it wires together.

import { networkInterfaces } from 'node:os';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ProtocolError } from '../protocol/errors.ts';
import { Accounts, SecretMismatchError } from './accounts.ts';
import { runAdmin } from './admin.ts';
import { ConfigError, USAGE, parseCommandLine } from './config.ts';
import { Database } from './db.ts';
import { stderrLogger } from './log.ts';
import { Mailbox } from './mailbox.ts';
import { Rooms } from './rooms.ts';
import { TrackerServer } from './server.ts';
import { loadOrCreateSecret, loadOrCreateTlsMaterial } from './tls-material.ts';

const VERSION = '0.1.0';
const say = (line: string) => process.stdout.write(line + '\n');

async function main(): Promise<number> {
  const { command, rest, config, force } = parseCommandLine(process.argv.slice(2));
  if (command === 'help') {
    say(USAGE);
    return 0;
  }
  // An admin command on a mistyped --db would otherwise create an empty database (and a secret)
  // there and report "no users": refuse instead.
  if (command !== 'serve' && !existsSync(config.db)) {
    throw new ConfigError(`no database at ${config.db}; pass the tracker's --db FILE`);
  }
  // A folder the tracker creates is its own (0700, whatever the umask): it will hold the
  // certificate, key and secret, and anyone able to write there could replace them.
  const created = mkdirSync(dirname(config.db), { recursive: true, mode: 0o700 });
  if (created !== undefined) {
    for (let dir = dirname(config.db); dir.length >= created.length; dir = dirname(dir)) chmodSync(dir, 0o700);
  }
  const db = await Database.open(config.db);
  const secret = loadOrCreateSecret(config.db);
  const accounts = new Accounts(db, secret, config);
  await accounts.checkSecret();
  await accounts.load();

  if (command !== 'serve') {
    try {
      return await runAdmin(command, rest, db, accounts, say, force);
    } finally {
      await db.close();
    }
  }

  void accounts.warmUp();
  const tls = await loadOrCreateTlsMaterial(config.db, config.cert && config.key ? { cert: config.cert, key: config.key } : undefined);
  let server: TrackerServer | undefined;
  const rooms = new Rooms(db, accounts, (user) => server?.presence.isOnline(user) ?? false, {
    maxRoomsPerUser: config.maxRoomsPerUser,
    maxJoinsPerUser: config.maxJoinsPerUser,
    eventsPerUserMinute: config.roomEventsPerUser,
    joinsPerDay: config.roomJoinsPerDay,
    maxLog: config.maxRoomLog,
  });
  await rooms.load();
  const mailbox = config.mailbox ? new Mailbox(db, rooms, (user) => server?.presence.connectionsOf(user) ?? [], stderrLogger, config.mailbox) : undefined;
  server = new TrackerServer(config, tls, accounts, rooms, stderrLogger, mailbox);
  const address = await server.listen();
  mailbox?.start();

  say(`p2p-chat tracker ${VERSION}`);
  say(`database: ${config.db}`);
  say(`certificate ${tls.generated ? 'created' : 'loaded'}: clients pin its fingerprint on first use`);
  say(`certificate fingerprint (SHA-256): ${tls.fingerprint}`);
  say(`listening on ${address.address}:${address.port}`);
  if (config.mailbox) say(`mailbox: on (per user ${config.mailbox.maxItemsPerUser} items, ${config.mailbox.maxBytesPerUser} bytes; kept ${config.mailbox.maxAgeMs} ms)`);
  for (const lan of lanAddresses(address.address)) say(`  reachable at ${lan}:${address.port}`);
  // The handlers go in before "ready" is printed: whoever waits for that line may signal at once.
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      stderrLogger('info', `${signal}: shutting down`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  say('ready');
  await stopped;
  await mailbox?.stop();
  await server.close();
  await db.close();
  say('stopped');
  return 0;
}

function lanAddresses(bound: string): string[] {
  if (bound !== '0.0.0.0' && bound !== '::') return [];
  return Object.values(networkInterfaces())
    .flat()
    .filter((i) => i && i.family === 'IPv4' && !i.internal)
    .map((i) => i!.address);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    if (err instanceof ConfigError || err instanceof ProtocolError || err instanceof SecretMismatchError) process.stderr.write(`error: ${err.message}\n`);
    else if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') process.stderr.write(`error: the port is in use; stop the other tracker or pass --port\n`);
    else process.stderr.write(`error: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
