// The message store's schema (peer/store-db.ts), as a ladder of migrations: MIGRATIONS[v] takes
// a store from user_version v to v + 1. Steps are only ever appended; a shipped step never changes.
//
// Index columns stay clear (conversation or room id, sender name, session id, seq, times, message
// id): they order and find rows. Everything that holds content is a sealed BLOB (`body`), its AAD
// bound to the table and the row's identity (peer/store-db.ts seal).

export const MIGRATIONS: readonly string[] = [
  // 1: history, held envelopes and bundles, outbox.
  `
  CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);

  -- One conversation's messages; the order every member shows is (sent_at, sender, session, seq).
  CREATE TABLE messages (
    conversation TEXT NOT NULL,
    id TEXT NOT NULL,
    sender TEXT NOT NULL,
    session TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sent_at INTEGER NOT NULL,
    late INTEGER NOT NULL DEFAULT 0,
    body BLOB NOT NULL,
    UNIQUE (conversation, sender, session, seq),
    UNIQUE (conversation, id)
  );
  CREATE INDEX messages_order ON messages (conversation, sent_at, sender, session, seq);

  -- Session bundles and envelopes held to forward to absent members and for catch-up.
  CREATE TABLE bundles (
    room TEXT NOT NULL,
    sender TEXT NOT NULL,
    session TEXT NOT NULL,
    start INTEGER NOT NULL,
    held_at INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (room, sender, session)
  );
  CREATE TABLE envelopes (
    room TEXT NOT NULL,
    sender TEXT NOT NULL,
    session TEXT NOT NULL,
    seq INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    body BLOB NOT NULL,
    UNIQUE (room, sender, session, seq)
  );
  CREATE INDEX envelopes_room_age ON envelopes (room, received_at);
  CREATE INDEX envelopes_age ON envelopes (received_at);

  -- My messages not yet acknowledged by everyone they were for.
  CREATE TABLE outbox (
    room TEXT NOT NULL,
    session TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    sent_at INTEGER NOT NULL,
    -- How many members it was for (the M of "delivered to N of M", also after a restart).
    recipients INTEGER NOT NULL DEFAULT 0,
    body BLOB NOT NULL,
    PRIMARY KEY (room, session, seq)
  );
  CREATE INDEX outbox_age ON outbox (sent_at);
  CREATE TABLE outbox_waiting (
    room TEXT NOT NULL,
    session TEXT NOT NULL,
    seq INTEGER NOT NULL,
    user TEXT NOT NULL,
    PRIMARY KEY (room, session, seq, user),
    FOREIGN KEY (room, session, seq) REFERENCES outbox (room, session, seq) ON DELETE CASCADE
  );
  CREATE INDEX outbox_waiting_user ON outbox_waiting (user);
  -- My messages that expired before they reached these members (history shows "not delivered").
  CREATE TABLE outbox_expired (
    room TEXT NOT NULL,
    session TEXT NOT NULL,
    seq INTEGER NOT NULL,
    user TEXT NOT NULL,
    PRIMARY KEY (room, session, seq, user)
  );
  `,
  // 2: message actions (issue 12). A reaction, edit, delete or read receipt is a row of `messages`
  // too (dedupe, acks, catch-up and replay protection work as for any message): `kind` says which
  // ('' for a message shown in the timeline), `target` the message id of the same conversation it
  // acts on (a read receipt's `upTo`). Both are clear index columns, bound into the sealed body's
  // AAD for action rows (peer/history.ts identity).
  `
  ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT '';
  ALTER TABLE messages ADD COLUMN target TEXT;
  -- A message's actions (reactions, edits, deletes), and a conversation's read receipts.
  CREATE INDEX messages_target ON messages (conversation, target, kind) WHERE target IS NOT NULL;
  -- The timeline's order over shown messages only (pages skip action rows without reading them).
  CREATE INDEX messages_shown ON messages (conversation, sent_at, sender, session, seq) WHERE kind = '';
  -- Each member's newest read receipt, without reading the conversation's other rows.
  CREATE INDEX messages_reads ON messages (conversation, sender, sent_at, target) WHERE kind = 'read';
  `,
  // 3: withdrawals from the tracker's mailbox (peer/outbox.ts withdraw, peer/mailbox.ts). A message
  // of mine I deleted while it still waited for `user` may sit in their mailbox on the tracker: it
  // is taken back from there (mailbox_withdraw), and this row stays until the tracker answered.
  `
  CREATE TABLE mailbox_withdrawals (
    room TEXT NOT NULL,
    session TEXT NOT NULL,
    seq INTEGER NOT NULL,
    user TEXT NOT NULL,
    PRIMARY KEY (room, session, seq, user)
  );
  CREATE INDEX mailbox_withdrawals_user ON mailbox_withdrawals (user);
  `,
  /* 4: each sender's actions on a message, counted and found without reading other rows (peer/history.ts actionsOnPerSenderOf). */ `CREATE INDEX messages_actions ON messages (conversation, target, kind, sender, sent_at, session, seq) WHERE target IS NOT NULL;`,
  // 5: which of my waiting messages the tracker's mailbox confirmed holding for the member
  // (peer/mailbox.ts deposit, peer/outbox.ts deposited). Kept with the waiting row, so it goes when
  // that does (delivered, withdrawn, expired, member gone); a restart no longer deposits them again
  // (each copy cost the recipient's and my quota there). Cleared when the tracker drops the item.
  `ALTER TABLE outbox_waiting ADD COLUMN deposited INTEGER NOT NULL DEFAULT 0;`,
  // 6: which shown messages carry a code snippet (peer/history.ts withSnippets), so the code
  // threads get a conversation's newest snippets after a reload however far back they are, without
  // opening every row. A clear flag like `kind` (it says a message shares code, never what): 1 or
  // 0 for rows stored from now on, NULL (not known) for rows stored before, which withSnippets
  // opens once and marks. The index holds snippet rows and not-yet-known ones only.
  `
  ALTER TABLE messages ADD COLUMN snippet INTEGER;
  CREATE INDEX messages_snippets ON messages (conversation, sent_at, sender, session, seq) WHERE kind = '' AND snippet IS NOT 0;
  `,
  // 7: re-sending my deletes and edits to a member who rejoins a room (peer/rejoin-resend.ts).
  // `sent_sessions`: the log head each of my sending sessions was made at, so who got its key
  // (who may hold its messages) is known for as long as the messages are; the held bundle says it
  // too, but goes after HELD_MAX_AGE_MS. `rejoins_handled`: per room, the seq of the last log event
  // whose rejoin was handled here, so each is handled once per device, also across restarts; the
  // row with room '' says the rooms held when this step ran were marked (their past rejoins are
  // not handled: nothing was owed for them before this version). `rejoin_resent`: per (room,
  // member), my clock when a re-send to them last finished: the next rejoin of theirs sends only
  // what I changed since, so leaving and joining again and again costs the room nothing new.
  `
  CREATE TABLE sent_sessions (
    room TEXT NOT NULL,
    session TEXT NOT NULL,
    head_seq INTEGER NOT NULL,
    head_hash TEXT NOT NULL,
    PRIMARY KEY (room, session)
  );
  CREATE TABLE rejoins_handled (room TEXT PRIMARY KEY, seq INTEGER NOT NULL);
  CREATE TABLE rejoin_resent (room TEXT NOT NULL, user TEXT NOT NULL, until INTEGER NOT NULL, PRIMARY KEY (room, user));
  `,
  // 8: a sender's action rows of one kind in a conversation in the order they arrived (the rowid
  // ends each entry), so their newest are read without a scan or a sort: reactions and edits naming
  // no message here are kept only as a sender's newest few (peer/history.ts prunePending). IF NOT
  // EXISTS: tests take a store back to an older user_version without dropping it.
  `CREATE INDEX IF NOT EXISTS messages_pending ON messages (conversation, sender, kind) WHERE target IS NOT NULL;`,
  // 9: what each outbox entry is (peer/outbox.ts add), so a newer action of mine makes the older
  // ones it covers leave: my read receipts in a conversation (a further "read up to" covers them),
  // my toggles of one emoji on one message, my edits of one message (each carries the whole text).
  // `kind` and `target` as in `messages` (clear, bound into the body's AAD for action entries);
  // `emoji` a reaction's, sealed. Entries from before are '' (messages): they are never superseded.
  `
  ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT '';
  ALTER TABLE outbox ADD COLUMN target TEXT;
  ALTER TABLE outbox ADD COLUMN emoji BLOB;
  CREATE INDEX outbox_actions ON outbox (room, kind, target) WHERE target IS NOT NULL;
  `,
  // 10: what an action entry of the outbox covers (its `covers`, protocol/message-actions.ts: my
  // older actions it superseded), so a newer action that supersedes it names those too (peer/outbox.ts
  // covered). Clear JSON, as sessions and seqs are; a row only for an entry that covers some. Goes
  // with its entry. IF NOT EXISTS: tests take a store back to an older user_version without dropping it.
  `
  CREATE TABLE IF NOT EXISTS outbox_covers (
    room TEXT NOT NULL,
    session TEXT NOT NULL,
    seq INTEGER NOT NULL,
    covers TEXT NOT NULL,
    PRIMARY KEY (room, session, seq),
    FOREIGN KEY (room, session, seq) REFERENCES outbox (room, session, seq) ON DELETE CASCADE
  );
  `,
];
