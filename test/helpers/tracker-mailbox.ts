// The tracker's mailbox (`node tracker --mailbox`) as its database holds it, read directly: what a
// depositor left for a recipient, and a wait until it holds so much (the tracker logs no deposits).

import { queryDb } from './tracker-accounts-extra.ts';
import type { TrackerProcess } from './tracker-process.ts';

/** Envelopes `from` has waiting for `to` in the tracker's mailbox (bundles not counted), and their bytes. */
export async function inMailbox(tracker: Pick<TrackerProcess, 'dbPath'>, from: string, to: string): Promise<{ n: number; bytes: number }> {
  const [row] = await queryDb<{ n: number; bytes: number }>(tracker.dbPath,
    'SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS bytes FROM mailbox WHERE depositor = ? AND recipient = ? AND seq IS NOT NULL', from, to);
  return row;
}

/**
 * Resolves once the tracker's mailbox holds at least `n` envelopes from `from` for `to`, read
 * every 100 ms; rejects after `ms` with the count it last read.
 */
export async function mailboxHolds(tracker: Pick<TrackerProcess, 'dbPath'>, from: string, to: string, n: number, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const { n: now } = await inMailbox(tracker, from, to);
    if (now >= n) return;
    if (Date.now() > end) throw new Error(`the tracker's mailbox holds ${now} envelopes from ${from} for ${to}, not ${n}, after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
