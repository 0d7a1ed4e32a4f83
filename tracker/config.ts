// Command-line flags and environment variables of `node tracker`. Each flag has an environment
// variable (P2P_TRACKER_<FLAG>), so a service manager can configure it without a wrapper script.

import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import { MAILBOX_MAX_AGE_MS, MAILBOX_MAX_BYTES_PER_USER, MAILBOX_MAX_ITEMS_PER_USER, MAX_REQUESTS_BEFORE_LOGIN, DEFAULT_TRACKER_PORT, HEARTBEAT_TIMEOUT_MS, LIST_PAGE_SIZE, MAX_ROOMS_CREATED_PER_USER, MAX_ROOMS_JOINED_PER_USER, ROOM_EVENTS_PER_USER_MINUTE } from '../protocol/tracker.ts';

/** bcrypt below cost 10 is too cheap against an offline attack on a stolen database. */
export const MIN_BCRYPT_COST = 10;
export const DEFAULT_BCRYPT_COST = 12;
export const DEFAULT_MAX_PENDING_CONNS = 256;
export const DEFAULT_ROOM_JOINS_PER_DAY = 20;
export const DEFAULT_MAX_ROOM_LOG = 10_000;

export interface TrackerConfig {
  host: string;
  port: number;
  db: string;
  cert?: string;
  key?: string;
  bcryptCost: number;
  heartbeatTimeoutMs: number;
  /** A connection that has not logged in within this time is closed. */
  authTimeoutMs: number;
  /** Connections one address may hold before logging in (TLS handshakes: twice that). */
  maxConnsPerAddress: number;
  /**
   * Connections (TLS handshakes included) not logged in, from all addresses together. When full,
   * a new one evicts the oldest of the address holding the most. Lowered to fit the process's
   * open-file limit (see pendingCeiling).
   */
  maxPendingConns: number;
  /** Logged-in connections one user may hold (devices, windows). */
  maxConnsPerUser: number;
  /**
   * A client's outgoing queue may stay above this many bytes only while it drains: one that makes
   * no progress for slowConsumerMs, or grows past 8 times this, is dropped as a slow consumer.
   */
  maxQueueBytes: number;
  slowConsumerMs: number;
  /** Failed logins of one name from one address before delays start, the first delay and the longest. */
  failedLoginsPerUser: number;
  failedLoginDelayMs: number;
  failedLoginMaxDelayMs: number;
  /** Entries per answer of every list the tracker sends (rooms, peers, room logs, the session's lists). */
  pageSize: number;
  /** Open rooms one user may have created, and rooms one user may be a member of. */
  maxRoomsPerUser: number;
  maxJoinsPerUser: number;
  /** Room events (create, join, leave, kick, close) one user may add per minute. */
  roomEventsPerUser: number;
  /** Joins one user may make to one room per day (each join allows one leave). */
  roomJoinsPerDay: number;
  /** Events a room's log may hold; past it only leave, kick and close are accepted. */
  maxRoomLog: number;
  /** Accounts one address may create per hour (each costs a bcrypt and a row). */
  registrationsPerAddress: number;
  /** The mailbox (--mailbox, tracker/mailbox.ts): absent when off. */
  mailbox?: MailboxConfig;
}

/** Bounds of the mailbox; see tracker/mailbox.ts for the per-depositor share derived from them. */
export interface MailboxConfig {
  /** Items, and bytes of their stored JSON, one user's mailbox may hold. */
  maxItemsPerUser: number;
  maxBytesPerUser: number;
  /** Items older than this (ms since deposited) are dropped and their depositors told. */
  maxAgeMs: number;
}

const FLAGS = {
  host: { type: 'string', default: '0.0.0.0' },
  port: { type: 'string', default: String(DEFAULT_TRACKER_PORT) },
  db: { type: 'string', default: './tracker.db' },
  cert: { type: 'string' },
  key: { type: 'string' },
  'bcrypt-cost': { type: 'string', default: String(DEFAULT_BCRYPT_COST) },
  'heartbeat-timeout': { type: 'string', default: String(HEARTBEAT_TIMEOUT_MS) },
  'auth-timeout': { type: 'string', default: '10000' },
  'max-conns-per-address': { type: 'string', default: '32' },
  'max-conns-per-user': { type: 'string', default: '16' },
  'max-pending-conns': { type: 'string', default: String(DEFAULT_MAX_PENDING_CONNS) },
  'max-queue-bytes': { type: 'string', default: String(1024 * 1024) },
  'slow-consumer-timeout': { type: 'string', default: '20000' },
  'failed-logins-per-user': { type: 'string', default: '5' },
  'failed-login-delay': { type: 'string', default: '1000' },
  'failed-login-max-delay': { type: 'string', default: '900000' },
  'page-size': { type: 'string', default: String(LIST_PAGE_SIZE) },
  'max-rooms-per-user': { type: 'string', default: String(MAX_ROOMS_CREATED_PER_USER) },
  'max-joins-per-user': { type: 'string', default: String(MAX_ROOMS_JOINED_PER_USER) },
  'room-events-per-user': { type: 'string', default: String(ROOM_EVENTS_PER_USER_MINUTE) },
  'room-joins-per-day': { type: 'string', default: String(DEFAULT_ROOM_JOINS_PER_DAY) },
  'max-room-log': { type: 'string', default: String(DEFAULT_MAX_ROOM_LOG) },
  'registrations-per-address': { type: 'string', default: '100' },
  mailbox: { type: 'boolean', default: false },
  'mailbox-max-items-per-user': { type: 'string', default: String(MAILBOX_MAX_ITEMS_PER_USER) },
  'mailbox-max-bytes-per-user': { type: 'string', default: String(MAILBOX_MAX_BYTES_PER_USER) },
  'mailbox-max-age': { type: 'string', default: String(MAILBOX_MAX_AGE_MS) },
  force: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const USAGE = `Usage: node tracker [options]
       node tracker users [list | delete NAME [--force] | revoke NAME] [--db FILE]
       node tracker rooms [list | delete NAME] [--db FILE]

The p2p-chat tracker: accounts, presence and signed room logs over TLS. Messages never pass
through it. Every option can also be set as an environment variable P2P_TRACKER_<NAME>
(for example P2P_TRACKER_PORT=12345).

Options:
  --host ADDR                  address to listen on (default 0.0.0.0: every interface)
  --port N                     TCP port (default ${DEFAULT_TRACKER_PORT}; 0 picks a free one)
  --db FILE                    SQLite database (default ./tracker.db); the generated
                               certificate, key and secret files are kept beside it
  --cert FILE --key FILE       use your own TLS certificate instead of the generated one
  --bcrypt-cost N              bcrypt cost of stored auth keys (default ${DEFAULT_BCRYPT_COST}, minimum ${MIN_BCRYPT_COST})
  --heartbeat-timeout MS       drop a client silent this long (default ${HEARTBEAT_TIMEOUT_MS})
  --auth-timeout MS            close a connection that has not logged in by then (default 10000)
  --max-conns-per-address N    connections one address may hold before they log in (default 32);
                               logged-in ones count against their user instead
  --max-conns-per-user N       logged-in connections one user may hold (default 16)
  --max-pending-conns N        connections not logged in yet, from all addresses together
                               (default ${DEFAULT_MAX_PENDING_CONNS}, and at most a quarter of the open-file limit,
                               ulimit -n); when full, a new connection evicts the oldest one of
                               the address holding the most, so a flood cannot keep others out.
                               Logged-in connections are never evicted
  --max-queue-bytes N          outgoing bytes a client's queue may hold while it drains
                               (default 1 MiB); above it, a client that reads nothing for
                               --slow-consumer-timeout, or whose queue passes 8 times it,
                               is closed as a slow consumer (and told so)
  --slow-consumer-timeout MS   (default 20000)
  --failed-logins-per-user N   failed logins of one name from one address before that name
                               waits there (default 5); other addresses are not affected
  --failed-login-delay MS      the first wait; it doubles with each further failure (default 1000)
  --failed-login-max-delay MS  the longest wait (default 900000)
                               No address is ever locked out: bcrypt work is shared in turn
                               between addresses (names that logged in from an address before
                               go first there), and a resume with a session token never waits.
                               A connection may send ${MAX_REQUESTS_BEFORE_LOGIN} requests (pings aside) before it logs in;
                               then it is closed (rate_limited), and must reconnect
  --page-size N                entries per answer of list_rooms, list_peers, room_log and the
                               login answer's lists; clients fetch the next pages (default ${LIST_PAGE_SIZE})
  --max-rooms-per-user N       open rooms one user may have created (default ${MAX_ROOMS_CREATED_PER_USER})
  --max-joins-per-user N       rooms one user may be a member of (default ${MAX_ROOMS_JOINED_PER_USER})
  --room-events-per-user N     room events (create, join, leave, kick, close) one user may add
                               per minute (default ${ROOM_EVENTS_PER_USER_MINUTE})
  --room-joins-per-day N       joins one user may make to one room per day (default ${DEFAULT_ROOM_JOINS_PER_DAY});
                               leaving is always allowed
  --max-room-log N             events a room's log may hold (default ${DEFAULT_MAX_ROOM_LOG}); logs are kept
                               forever, so past it only leave, kick and close are accepted
                               (quota.exceeded: create a new room, or ask an admin)
  --registrations-per-address N  accounts one address may create per hour (default 100)
  --mailbox                    keep a mailbox: sealed envelopes and session bundles that members
                               leave for members who are offline (it cannot read them: it is never
                               a room member and gets no key). Off by default; clients work without it
  --mailbox-max-items-per-user N  items one user's mailbox may hold (default ${MAILBOX_MAX_ITEMS_PER_USER})
  --mailbox-max-bytes-per-user N  bytes one user's mailbox may hold (default ${MAILBOX_MAX_BYTES_PER_USER}, 32 MiB).
                               What one user may have waiting in all mailboxes together is bounded
                               by the same two numbers, and in one user's mailbox by half of them;
                               a deposit over a bound is refused (quota.exceeded); into a full mailbox
                               it evicts the oldest of whoever holds the most there, if more than it would
  --mailbox-max-age MS         items older than this are dropped and their depositor is told
                               (default ${MAILBOX_MAX_AGE_MS}: 14 days)
  --force                      users delete: delete even a user who signed room events
  -h, --help                   show this help
`;

export class ConfigError extends Error {}

function envName(flag: string): string {
  return `P2P_TRACKER_${flag.toUpperCase().replace(/-/g, '_')}`;
}

function integer(flag: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`--${flag} must be a whole number from ${min} to ${max} (got "${raw}")`);
  }
  return n;
}

export interface ParsedCommand {
  command: 'serve' | 'users' | 'rooms' | 'help';
  rest: string[];
  /** Admin commands: do it even when it is risky (`users delete` of a room author). */
  force: boolean;
  config: TrackerConfig;
}

export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedCommand {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: FLAGS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\nRun "node tracker --help" for the options.`);
  }
  const { values, positionals } = parsed;
  const get = (flag: keyof typeof FLAGS): string | undefined => {
    const given = argv.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));
    return given ? (values[flag] as string | undefined) : (env[envName(flag)] ?? (values[flag] as string | undefined));
  };
  const bcryptCost = integer('bcrypt-cost', get('bcrypt-cost')!, 4, 20);
  if (bcryptCost < MIN_BCRYPT_COST) {
    throw new ConfigError(`--bcrypt-cost must be at least ${MIN_BCRYPT_COST}: a lower cost makes a stolen database cheap to attack`);
  }
  const cert = get('cert');
  const key = get('key');
  if (Boolean(cert) !== Boolean(key)) throw new ConfigError('--cert and --key must be given together');

  const config: TrackerConfig = {
    host: get('host')!,
    port: integer('port', get('port')!, 0, 65535),
    db: resolve(get('db')!),
    ...(cert && key ? { cert: resolve(cert), key: resolve(key) } : {}),
    bcryptCost,
    heartbeatTimeoutMs: integer('heartbeat-timeout', get('heartbeat-timeout')!, 100, 3_600_000),
    authTimeoutMs: integer('auth-timeout', get('auth-timeout')!, 100, 3_600_000),
    maxConnsPerAddress: integer('max-conns-per-address', get('max-conns-per-address')!, 1, 1_000_000),
    maxConnsPerUser: integer('max-conns-per-user', get('max-conns-per-user')!, 1, 1_000_000),
    maxPendingConns: integer('max-pending-conns', get('max-pending-conns')!, 1, 1_000_000),
    maxQueueBytes: integer('max-queue-bytes', get('max-queue-bytes')!, 1024, 1024 ** 3),
    slowConsumerMs: integer('slow-consumer-timeout', get('slow-consumer-timeout')!, 100, 3_600_000),
    failedLoginsPerUser: integer('failed-logins-per-user', get('failed-logins-per-user')!, 1, 1_000_000),
    failedLoginDelayMs: integer('failed-login-delay', get('failed-login-delay')!, 1, 86_400_000),
    failedLoginMaxDelayMs: integer('failed-login-max-delay', get('failed-login-max-delay')!, 1, 86_400_000),
    registrationsPerAddress: integer('registrations-per-address', get('registrations-per-address')!, 1, 1_000_000),
    pageSize: integer('page-size', get('page-size')!, 1, 10_000),
    maxRoomsPerUser: integer('max-rooms-per-user', get('max-rooms-per-user')!, 0, 1_000_000),
    maxJoinsPerUser: integer('max-joins-per-user', get('max-joins-per-user')!, 1, 1_000_000),
    roomEventsPerUser: integer('room-events-per-user', get('room-events-per-user')!, 1, 1_000_000),
    roomJoinsPerDay: integer('room-joins-per-day', get('room-joins-per-day')!, 1, 1_000_000),
    maxRoomLog: integer('max-room-log', get('max-room-log')!, 2, 100_000_000),
  };
  // A boolean flag: its environment variable turns it on with 1, true or yes.
  const mailboxOn = values.mailbox === true || /^(1|true|yes)$/i.test(env[envName('mailbox')] ?? '');
  if (mailboxOn) {
    config.mailbox = {
      maxItemsPerUser: integer('mailbox-max-items-per-user', get('mailbox-max-items-per-user')!, 2, 100_000_000),
      maxBytesPerUser: integer('mailbox-max-bytes-per-user', get('mailbox-max-bytes-per-user')!, 1024, 1024 ** 4),
      maxAgeMs: integer('mailbox-max-age', get('mailbox-max-age')!, 1, 10 * 365 * 86_400_000),
    };
  }
  const [first, ...rest] = positionals;
  const force = Boolean(values.force);
  if (values.help) return { command: 'help', rest, config, force };
  if (first === undefined) return { command: 'serve', rest, config, force };
  if (first === 'users' || first === 'rooms') return { command: first, rest, config, force };
  throw new ConfigError(`unknown command "${first}"\nRun "node tracker --help" for the commands.`);
}
