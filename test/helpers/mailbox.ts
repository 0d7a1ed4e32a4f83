// Helpers for the mailbox suites (tracker/mailbox.ts): real sealed messages made with
// peer/sender-keys.ts (a session bundle wrapped for the recipients, envelopes encrypted and signed
// by the sender), opened again the way a receiver opens them, and clients that speak to the
// tracker through peer/tracker-session.ts, the class the engine uses.

import { fromBase64Url, toBase64Url } from '../../protocol/crypto.ts';
import type { RoomHead } from '../../protocol/room-log.ts';
import type { MailboxEntry, MailboxItem } from '../../protocol/tracker.ts';
import { decryptEnvelope, encryptMessage, makeBundle, newOutboundSession, openBundle, type InboundSession } from '../../peer/sender-keys.ts';
import { TrackerSession } from '../../peer/tracker-session.ts';
import { FAST_SCRYPT_PARAMS, cachedAccountKeys, defaultPassword, identityFor } from './accounts.ts';
import type { Teardown, TrackerProcess } from './tracker-process.ts';

let counter = 0;

/**
 * A new sender session of `sender` in `room` at `head`: its bundle wrapped for `recipients`, and
 * one envelope per text, as mailbox items (the bundle first).
 */
export async function sealed(sender: string, recipients: string[], room: string, head: RoomHead, texts: string[]): Promise<{ items: MailboxItem[]; session: string }> {
  const keys = await identityFor(sender);
  const s = newOutboundSession(room, head, Date.now());
  const wrapsFor = await Promise.all(recipients.map(async (user) => ({ user, encryptionKey: (await identityFor(user)).encryption.publicKey })));
  const bundle = makeBundle(s, sender, keys.signing.privateKey, wrapsFor);
  const items: MailboxItem[] = [{ t: 'session', bundle }];
  for (const text of texts) {
    counter += 1;
    items.push({ t: 'envelope', envelope: encryptMessage(s, sender, keys.signing.privateKey, { time: Date.now(), text }) });
  }
  return { items, session: s.session };
}

/** Opens what `me` took from its mailbox as a receiver does: bundles first, then their envelopes' texts, in order. */
export async function openAll(me: string, entries: MailboxEntry[]): Promise<string[]> {
  const mine = await identityFor(me);
  const sessions = new Map<string, InboundSession>();
  const texts: string[] = [];
  for (const { from, msg } of entries) {
    const senderKey = (await identityFor(from)).signing.publicKey;
    if (msg.t === 'session') {
      sessions.set(msg.bundle.session, openBundle(msg.bundle, { user: me, encryptionKey: mine.encryption.privateKey }, senderKey));
    } else {
      const inbound = sessions.get(msg.envelope.session);
      if (!inbound) throw new Error(`an envelope of session ${msg.envelope.session} came before its bundle`);
      texts.push(decryptEnvelope(msg.envelope, inbound, senderKey).text);
    }
  }
  return texts;
}

/**
 * `user` (registered already) logged in through a TrackerSession pinned to `tracker`, heartbeats
 * off; stopped in teardown. `onEvent`, when given, is listening before the login is sent.
 */
export async function sessionFor(t: Teardown, tracker: TrackerProcess, user: string, onEvent?: Parameters<TrackerSession['on']>[1]): Promise<TrackerSession> {
  const pins = new Map([[`${tracker.host}:${tracker.port}`, tracker.fingerprint]]);
  const session = new TrackerSession({ host: tracker.host, port: tracker.port, heartbeatMs: 0, pins: { get: (a) => pins.get(a), set: (a, f) => void pins.set(a, f) } });
  t.after(() => session.stop());
  if (onEvent) session.on('event', onEvent as never);
  await session.connect();
  const { salt } = await session.request('prelogin', { user });
  const keys = await cachedAccountKeys(defaultPassword(user), fromBase64Url(salt), FAST_SCRYPT_PARAMS);
  await session.start('login', { user, authKey: toBase64Url(keys.authKey), peerPort: 0 });
  return session;
}
