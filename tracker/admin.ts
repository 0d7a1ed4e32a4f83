// `node tracker users ...` and `node tracker rooms ...`: small admin commands on the database,
// run while the tracker is stopped or running (SQLite's WAL lets both open it). A running tracker
// sees a revoked token (and a deleted user's password and tokens) at its next lookup, but keeps
// deleted rooms and users' directory entries and keys in memory: restart it after a delete.

import type { Accounts } from './accounts.ts';
import type { Database } from './db.ts';
import { normalizeRoomName, normalizeUserName } from '../protocol/names.ts';

export async function runAdmin(command: 'users' | 'rooms', args: string[], db: Database, accounts: Accounts, out: (line: string) => void, force = false): Promise<number> {
  const [action = 'list', rawName] = args;
  if (command === 'users') {
    if (action === 'list') {
      const users = await accounts.listUsers();
      if (!users.length) out('no users');
      for (const u of users) out(`${u.name.padEnd(32)} ${u.fingerprint}  sessions=${u.tokens}  since ${new Date(u.created).toISOString()}`);
      return 0;
    }
    if ((action === 'delete' || action === 'revoke') && rawName) {
      const name = normalizeUserName(rawName);
      if (action === 'delete') {
        // Room logs are verified by every client against their authors' keys: deleting an author
        // makes those logs unverifiable for anyone who joins later. Refuse unless forced.
        const authored = await db.all<{ name: string }>(
          `SELECT DISTINCT rooms.name FROM room_events JOIN rooms ON rooms.id = room_events.room
           WHERE rooms.closed = 0 AND (json_extract(body, '$.actor') = ? OR json_extract(body, '$.subject') = ?)`,
          name,
          name,
        );
        if (authored.length && !force) {
          out(`${name} signed events in the logs of ${authored.map((r) => r.name).join(', ')}; deleting them makes those logs unverifiable for new members.`);
          out(`Run "node tracker users revoke ${name}" to end their sessions instead, or add --force to delete anyway.`);
          return 1;
        }
        if (!(await accounts.deleteUser(name))) return notFound(out, `no user named ${name}`);
        out(`deleted ${name} and their sessions; if the tracker is running, restart it so open connections end`);
      } else {
        out(`revoked ${await accounts.revokeTokens(name)} session(s) of ${name}; if the tracker is running, restart it so open connections end`);
      }
      return 0;
    }
  }
  if (command === 'rooms') {
    if (action === 'list') {
      const rooms = await db.all<{ name: string; id: string; check_hash: string | null; closed: number; events: number }>(
        `SELECT name, id, check_hash, closed, (SELECT COUNT(*) FROM room_events WHERE room = rooms.id) AS events FROM rooms ORDER BY closed, name`,
      );
      if (!rooms.length) out('no rooms');
      for (const r of rooms) out(`${r.name.padEnd(32)} ${r.check_hash ? 'private' : 'public '} ${r.closed ? 'closed' : 'open  '} events=${r.events} id=${r.id}`);
      return 0;
    }
    if (action === 'delete' && rawName) {
      const name = normalizeRoomName(rawName);
      const { changes } = await db.run('DELETE FROM rooms WHERE name = ? AND closed = 0', name);
      if (!changes) return notFound(out, `no open room named ${name}`);
      out(`deleted room ${name} and its log; if the tracker is running, restart it to drop the room from memory`);
      return 0;
    }
  }
  out(`unknown admin command: ${command} ${args.join(' ')}\nRun "node tracker --help" for the commands.`);
  return 2;
}

function notFound(out: (line: string) => void, message: string): number {
  out(message);
  return 1;
}
