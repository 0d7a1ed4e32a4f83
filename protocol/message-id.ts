// A message's id is derived from its envelope's signed coordinates (room, sender, session, seq),
// never chosen by the sender: so no member can give a message of theirs the id of another's
// (a hostile copy arriving first at someone away would otherwise take the id, and the author's
// later edit or delete would land on it, or be refused). Ids are what commands, replies,
// reactions and history name a message by; receivers refuse a body whose id is not this
// (peer/sender-keys.ts decryptEnvelope).

import { sha256, toBase64Url } from './crypto.ts';

const LABEL = 'p2p-chat message id v1';

/** The id of the message at (room, sender, session, seq): 16 base64url characters (96 bits of SHA-256). */
export function messageId(at: { room: string; sender: string; session: string; seq: number }): string {
  const parts = [LABEL, at.room, at.sender, at.session, String(at.seq)].join('\n');
  return toBase64Url(sha256(Buffer.from(parts, 'utf8'))).slice(0, 16);
}
