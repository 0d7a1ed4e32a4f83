// Helpers for the conversation actions tests (issue 12): waiting until a conversation's history
// shows a state (checked again on each event that could change it, never on a timer), and a
// modified client that sends what the engine itself refuses to; and a check that a deleted text
// is gone from every file of a member's data folder.

import assert from 'node:assert/strict';
import type { CommandResults } from '../../protocol/client.ts';
import type { MessageAction } from '../../protocol/message-actions.ts';
import type { ChatEngine } from '../../peer/engine.ts';
import type { Signed } from '../../peer/signed-session.ts';
import { filesHolding, filesUnder } from './files-under.ts';

type History = CommandResults['history'];
const CHANGES = ['message', 'reaction', 'edited', 'deleted', 'read', 'ready'] as const;

/**
 * Resolves with the history page (newest 500) of `target` at `engine` once `check` accepts it,
 * checked now and after each message, reaction, edit, delete or read event; rejects after `ms`
 * with the last page's rows.
 */
export function historyShows(engine: ChatEngine, target: { room?: string; user?: string }, check: (h: History) => boolean, ms = 30_000): Promise<History> {
  return new Promise((resolve, reject) => {
    let last: History | undefined;
    let done = false;
    const stop = () => {
      done = true;
      clearTimeout(timer);
      for (const name of CHANGES) engine.off(name, again);
    };
    const again = () => {
      if (done || !engine.user) return;
      void engine.history(target, { limit: 500 }).then((h) => {
        last = h;
        if (!done && check(h)) {
          stop();
          resolve(h);
        }
      }, () => {});
    };
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`${engine.user}: history never showed what was expected within ${ms} ms; last: ${JSON.stringify(last?.messages ?? null)}`));
    }, ms);
    for (const name of CHANGES) engine.on(name, again);
    again();
  });
}

/**
 * A modified client: sends `action` (with `text`) in conversation `room` through the engine's own
 * sending path, skipping the checks the engine's commands make first. Receivers must check again.
 */
export async function sendRawAction(engine: ChatEngine, room: string, action: MessageAction, text = ''): Promise<{ id: string }> {
  const s = (engine as unknown as { s: Signed }).s;
  return s.messages.send(s.conversations.resolve(room), text, undefined, { action });
}

/** The engine's store handle (to read raw rows in tests). */
export function storeOf(engine: ChatEngine): Signed['store'] {
  return (engine as unknown as { s: Signed }).s.store;
}

/** No file of `engine`'s data folder (store.db, its WAL, everything) nor any row of `room` as it opens holds `secret`. */
export function keepsNothingOf(engine: ChatEngine & { dataDir: string }, room: string, secret: string): void {
  assert.ok(filesUnder(engine.dataDir).some((f) => f.endsWith('store.db')), `${engine.user}: a store`);
  assert.deepEqual(filesHolding(engine.dataDir, secret), [], `${engine.user}: plaintext in files of the data folder`);
  const { db, history } = storeOf(engine);
  for (const r of db.all('SELECT id FROM messages WHERE conversation = ?', [room])) {
    const row = history.get(room, String(r.id))!;
    assert.ok(!row.text.includes(secret), `${engine.user}: row ${row.id} (${row.action?.t ?? 'message'}) holds no text of it`);
  }
}
