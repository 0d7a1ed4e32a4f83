// The interactive client's commands on messages (issue 12): `reply`, `react`, `edit`, `delete`,
// `mark_read` and `search`, typed as words and turned into the same commands `--json` takes
// (cli-commands.ts). A message is named by its id (search and `--json` history show ids) or by
// `-N`, the Nth newest message of that conversation as history shows it (-1: the last one).

import type { ClientCommand, CommandResults } from '../protocol/client.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { normalizeUserName } from '../protocol/names.ts';

/** The conversation a typed word names: `@USER` the direct one, else a room (a user when no room has that name). */
export type Where = { room: string } | { user: string };

/** Runs a history command (to resolve -N and to tell a room from a user). */
export type HistoryOf = (where: Where, limit: number) => Promise<CommandResults['history']>;

/** The most a typed -N reaches back. */
const MAX_BACK = 500;

type ActionName = 'reply' | 'react' | 'edit' | 'delete' | 'mark_read';

/**
 * The command a typed line means: `reply ROOM ID TEXT`, `react ROOM ID EMOJI [remove]`,
 * `edit ROOM ID TEXT`, `delete ROOM ID`, `mark_read ROOM ID`. Throws 'request.invalid' (usage),
 * 'room.not_found', 'message.not_found' (no Nth newest).
 */
export async function typedAction(name: ActionName, line: string, usage: string, history: HistoryOf): Promise<ClientCommand> {
  const m = /^\s*\S+\s+(\S+)\s+(\S+)(?:\s+(.*))?$/s.exec(line);
  if (!m) throw usageError(usage);
  const [, ref, idWord, rest = ''] = m as unknown as [string, string, string, string | undefined];
  const where = await conversation(ref, history);
  const id = await messageId(where, idWord, history);
  switch (name) {
    case 'reply':
    case 'edit': {
      if (!rest.trim()) throw usageError(usage);
      return name === 'reply' ? { cmd: 'reply', ...where, to: id, text: rest } : { cmd: 'edit', ...where, messageId: id, text: rest };
    }
    case 'react': {
      const words = rest.trim().split(/\s+/);
      if (!words[0] || words.length > 2 || (words[1] !== undefined && words[1] !== 'remove')) throw usageError(usage);
      return { cmd: 'react', ...where, messageId: id, emoji: words[0], on: words[1] !== 'remove' };
    }
    case 'delete':
      if (rest.trim()) throw usageError(usage);
      return { cmd: 'delete', ...where, messageId: id };
    case 'mark_read':
      if (rest.trim()) throw usageError(usage);
      return { cmd: 'mark_read', ...where, upTo: id };
  }
}

/** `search TEXT`: the rest of the line is the query. */
export function typedSearch(line: string, usage: string): ClientCommand {
  const m = /^\s*\S+\s+(.*\S)\s*$/s.exec(line);
  if (!m) throw usageError(usage);
  return { cmd: 'search', query: m[1]! };
}

/** A room of mine by that name or id, else the direct conversation with that user; `@USER` always the user. */
async function conversation(ref: string, history: HistoryOf): Promise<Where> {
  if (ref.startsWith('@')) return { user: ref.slice(1) };
  try {
    await history({ room: ref }, 1);
    return { room: ref };
  } catch (err) {
    if (!(err instanceof ProtocolError) || err.code !== 'room.not_found' || !isUserName(ref)) throw err;
    return { user: ref };
  }
}

/** A message id as typed, or the id of the Nth newest message for `-N`. */
async function messageId(where: Where, word: string, history: HistoryOf): Promise<string> {
  const back = /^-(\d{1,3})$/.exec(word);
  if (!back) return word;
  const n = Number(back[1]);
  if (n < 1 || n > MAX_BACK) throw new ProtocolError('request.invalid', `-N counts back from the newest message: 1 to ${MAX_BACK}`);
  const page = await history(where, n);
  const m = page.messages.length >= n ? page.messages[page.messages.length - n] : undefined;
  if (!m) throw new ProtocolError('message.not_found', `there are fewer than ${n} messages stored here for that conversation`);
  return m.id;
}

/** Whether `word` is a valid user name (the typed commands' ROOM|USER argument). */
export function isUserName(word: string): boolean {
  try {
    normalizeUserName(word);
    return true;
  } catch {
    return false;
  }
}

/** A typed command's usage refusal. */
export function usageError(form: string): ProtocolError {
  return new ProtocolError('request.invalid', `usage: ${form}`);
}
