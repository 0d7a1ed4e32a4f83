// What the tracker keeps is not what the clients hold secret (DESIGN.md "Tracker": the tracker
// never receives a password; authKeys are stored as bcrypt, tokens hashed, key blobs wrapped
// under a secret outside the database, private rooms as bcrypt of their check value). After a
// full session the raw bytes of tracker.db, its WAL and the tracker's whole log contain none of
// the secrets; and the database alone, without tracker.secret, opens no key blob.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProtocolError } from '../../protocol/errors.ts';
import { LABELS, fromBase64Url, hkdfSha256, open, randomBytes, toBase64Url } from '../../protocol/crypto.ts';
import { decryptKeyBlob, encryptKeyBlob, newAccountSalt } from '../../peer/account.ts';
import {
  FAST_SCRYPT_PARAMS,
  cachedAccountKeys,
  loginUser,
  registerAndLogin,
  type LoggedInUser,
} from '../helpers/accounts.ts';
import { FAST_TRACKER_ARGS, startTracker, type TrackerProcess } from '../helpers/tracker-process.ts';
import { FAST, connectFor, createRoom, nextRoomEvent, queryDb, suiteTeardown } from '../helpers/tracker-accounts-extra.ts';

interface Needle {
  what: string;
  bytes: Buffer;
}

/** Every encoding a secret of raw bytes could be written in. */
function encodings(what: string, raw: Buffer): Needle[] {
  return [
    { what: `${what} (raw bytes)`, bytes: raw },
    { what: `${what} (base64url)`, bytes: Buffer.from(toBase64Url(raw)) },
    { what: `${what} (base64)`, bytes: Buffer.from(raw.toString('base64').replace(/=+$/, '')) },
    { what: `${what} (hex)`, bytes: Buffer.from(raw.toString('hex')) },
    { what: `${what} (HEX)`, bytes: Buffer.from(raw.toString('hex').toUpperCase()) },
  ];
}

/** A key blob: whole, as sent, and 48-byte pieces of it, so a partial copy is found too. */
function blobNeedles(what: string, blob: string): Needle[] {
  const raw = fromBase64Url(blob);
  const pieces: Needle[] = [];
  for (let at = 0; at + 48 <= raw.length; at += 400) pieces.push({ what: `${what} (bytes ${at}..${at + 48})`, bytes: raw.subarray(at, at + 48) });
  return [{ what: `${what} (base64url)`, bytes: Buffer.from(blob) }, { what: `${what} (raw bytes)`, bytes: raw }, ...pieces];
}

function found(haystack: Buffer, needles: Needle[]): string[] {
  return needles.filter((n) => haystack.includes(n.bytes)).map((n) => n.what);
}

describe('secrets', () => {
  const scope = suiteTeardown();
  let tracker: TrackerProcess;
  const needles: Needle[] = [];
  /** Public things that must be in the files: shows the scan reads the real data. */
  const expected: { db: Needle[]; log: Needle[] } = { db: [], log: [] };
  const files = { runningDb: Buffer.alloc(0), runningWal: Buffer.alloc(0), stoppedDb: Buffer.alloc(0), walAfterStop: false, log: Buffer.alloc(0) };
  let sam: LoggedInUser;
  let tessNew: { password: string; keyKey: Buffer; keyBlob: string };

  before(async () => {
    tracker = await startTracker(scope.teardown, { args: [...FAST_TRACKER_ARGS] });
    const t = scope.teardown;
    const [c1, c2, c3, c4, c5] = await Promise.all([1, 2, 3, 4, 5].map(() => connectFor(t, tracker)));

    // Three accounts, each logged in.
    sam = await registerAndLogin(c1, 'sam', { ...FAST, password: 'sam purple elephant umbrella' });
    const tess = await registerAndLogin(c2, 'tess', { ...FAST, password: 'tess quiet harbour lantern' });
    const uma = await registerAndLogin(c3, 'uma', { ...FAST, password: 'uma seven copper kettles' });
    // A resume, and a failed login with a wrong password.
    const resumed = await c4.request('resume', { token: sam.token, peerPort: 0 });
    assert.equal(resumed.user, 'sam');
    const wrongPassword = 'tess guessed wrong password';
    const wrongKeys = await cachedAccountKeys(wrongPassword, tess.salt, FAST_SCRYPT_PARAMS);
    await assert.rejects(c5.request('login', { user: 'tess', authKey: toBase64Url(wrongKeys.authKey), peerPort: 0 }), /wrong user name or password/);

    // tess changes her password.
    const newPassword = 'tess new marble staircase';
    const newSalt = newAccountSalt();
    const newKeys = await cachedAccountKeys(newPassword, newSalt, FAST_SCRYPT_PARAMS);
    const newKeyBlob = encryptKeyBlob(newKeys.keyKey, 'tess', tess.unlocked);
    const { token: tessToken } = await c2.request('change_password', {
      authKey: toBase64Url(tess.keys.authKey),
      newSalt: toBase64Url(newSalt),
      newAuthKey: toBase64Url(newKeys.authKey),
      newKeyBlob,
    });
    tessNew = { password: newPassword, keyKey: newKeys.keyKey, keyBlob: newKeyBlob };
    const tessAgain = await loginUser(c5, 'tess', { ...FAST, password: newPassword });

    // Rooms: a public one uma joins, a private one tess joins with its password.
    const roomPassword = 'hideout room door phrase';
    const plaza = await createRoom(c1, sam, 'plaza');
    await c3.request('append', { event: nextRoomEvent(plaza.room, uma, 'join') });
    const hideout = await createRoom(c1, sam, 'hideout', { password: roomPassword });
    const tessJoin = nextRoomEvent(hideout.room, tess, 'join', { proofKey: hideout.proofKey });
    await c2.request('append', { event: tessJoin, check: hideout.check });
    await c3.request('logout', {});

    for (const [what, password] of [
      ['sam password', sam.password],
      ['tess old password', tess.password],
      ['tess new password', newPassword],
      ['uma password', uma.password],
      ['wrong password', wrongPassword],
      ['room password', roomPassword],
    ]) {
      needles.push({ what, bytes: Buffer.from(password, 'utf8') });
    }
    for (const [what, raw] of [
      ['sam authKey', sam.keys.authKey],
      ['tess old authKey', tess.keys.authKey],
      ['tess new authKey', newKeys.authKey],
      ['uma authKey', uma.keys.authKey],
      ['wrong authKey', wrongKeys.authKey],
      ['sam keyKey', sam.keys.keyKey],
      ['tess old keyKey', tess.keys.keyKey],
      ['tess new keyKey', newKeys.keyKey],
      ['uma keyKey', uma.keys.keyKey],
      ['sam token', fromBase64Url(sam.token)],
      ['tess first token', fromBase64Url(tess.token)],
      ['tess token from change_password', fromBase64Url(tessToken)],
      ['tess token after change', fromBase64Url(tessAgain.token)],
      ['uma token', fromBase64Url(uma.token)],
      ['room check value', fromBase64Url(hideout.check!)],
      ['room proof key', hideout.proofKey!],
    ] as const) {
      needles.push(...encodings(what, raw));
    }
    needles.push(...blobNeedles('sam key blob', sam.keyBlob), ...blobNeedles('tess old key blob', tess.keyBlob));
    needles.push(...blobNeedles('tess new key blob', newKeyBlob), ...blobNeedles('uma key blob', uma.keyBlob));

    expected.db.push(
      { what: 'the name tess', bytes: Buffer.from('tess') },
      { what: "tess's new salt", bytes: newSalt },
      { what: "sam's public signing key", bytes: fromBase64Url(sam.identity.identity.signingKey) },
      { what: "tess's join event signature", bytes: Buffer.from(tessJoin.sig) },
      { what: 'the room name hideout', bytes: Buffer.from('"hideout"') },
    );
    expected.log.push({ what: 'the login refusal', bytes: Buffer.from('login refused user=tess') }, { what: 'the ready line', bytes: Buffer.from('ready') });

    const walPath = `${tracker.dbPath}-wal`;
    files.runningDb = readFileSync(tracker.dbPath);
    files.runningWal = existsSync(walPath) ? readFileSync(walPath) : Buffer.alloc(0);
    assert.equal(await tracker.stop('SIGTERM'), 0);
    files.stoppedDb = readFileSync(tracker.dbPath);
    files.walAfterStop = existsSync(walPath) && readFileSync(walPath).length > 0;
    files.log = Buffer.from(tracker.output(), 'utf8');
  });
  after(() => scope.runAll());

  test('tracker.db, its WAL and the log hold no password, authKey, token, key blob, or room password and check value', () => {
    const running = Buffer.concat([files.runningDb, files.runningWal]);
    assert.ok(needles.length > 80, `${needles.length} needles`);
    // The scan reads real data: the public parts are there.
    assert.deepEqual(expected.db.filter((n) => !running.includes(n.bytes) && !files.stoppedDb.includes(n.bytes)).map((n) => n.what), []);
    assert.deepEqual(expected.db.filter((n) => !files.stoppedDb.includes(n.bytes)).map((n) => n.what), [], 'after a clean stop the WAL is folded into tracker.db');
    assert.deepEqual(expected.log.filter((n) => !files.log.includes(n.bytes)).map((n) => n.what), []);

    // And it would see a leak: a token (any encoding) or a piece of a blob appended to the log.
    assert.ok(found(Buffer.concat([files.log, Buffer.from(`token=${sam.token}`)]), needles).includes('sam token (base64url)'));
    assert.ok(found(Buffer.concat([files.log, fromBase64Url(sam.keyBlob).subarray(390, 460)]), needles).includes('sam key blob (bytes 400..448)'));
    assert.ok(files.runningWal.length > 0, 'the running tracker had a WAL to read');

    assert.deepEqual(found(files.runningDb, needles), [], 'in tracker.db while running');
    assert.deepEqual(found(files.runningWal, needles), [], 'in tracker.db-wal while running');
    assert.deepEqual(found(files.stoppedDb, needles), [], 'in tracker.db after stopping');
    assert.deepEqual(found(files.log, needles), [], 'in the tracker log (stdout and stderr)');
    assert.equal(files.walAfterStop, false, 'a clean stop leaves no WAL behind');
  });

  test('the database alone (without tracker.secret) opens no key blob', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'p2p-chat-stolen-db-'));
    copyFileSync(tracker.dbPath, join(dir, 'tracker.db'));
    // A tracker started on the database without its secret makes a new secret, notices it does
    // not belong to the database, and refuses to start, saying what to restore.
    await assert.rejects(startTracker(t, { dir, args: [...FAST_TRACKER_ARGS] }), /tracker\.secret does not belong to this database/);
    const stolenSecret = Buffer.from(readFileSync(join(dir, 'tracker.secret'), 'utf8').trim(), 'base64');
    const realSecret = Buffer.from(readFileSync(join(tracker.dir, 'tracker.secret'), 'utf8').trim(), 'base64');
    assert.notDeepEqual(stolenSecret, realSecret, 'a tracker without the secret file makes a new one');
    t.after(() => rm(dir, { recursive: true, force: true }));

    // The stored column itself: it opens with the real secret's wrap key (so the check below
    // is about the right bytes), and with nothing derivable without that secret.
    const rows = await queryDb<{ name: string; key_blob: Buffer }>(join(dir, 'tracker.db'), 'SELECT name, key_blob FROM users ORDER BY name');
    const byName = new Map(rows.map((r) => [r.name, r.key_blob]));
    const aad = (user: string) => Buffer.from(`${LABELS.trackerBlobWrap}\0${user}`);
    const wrapKey = (secret: Buffer) => hkdfSha256(secret, Buffer.alloc(0), LABELS.trackerBlobWrap, 32);
    for (const [user, keyKey, blob] of [
      ['sam', sam.keys.keyKey, sam.keyBlob],
      ['tess', tessNew.keyKey, tessNew.keyBlob],
    ] as const) {
      const stored = byName.get(user)!;
      assert.ok(stored, `a key_blob row for ${user}`);
      assert.deepEqual(open(wrapKey(realSecret), stored, aad(user)), fromBase64Url(blob), 'the real secret unwraps it');
      assert.equal(stored.includes(fromBase64Url(blob).subarray(0, 64)), false);
      assert.throws(() => decryptKeyBlob(keyKey, user, toBase64Url(stored)), ProtocolError, "the client's keyKey does not open the stored column");
      const guesses: [string, Buffer, Buffer][] = [
        ['keyKey, keywrap label', keyKey, Buffer.from(`${LABELS.keywrap}\0${user}`)],
        ['keyKey, tracker label', keyKey, aad(user)],
        ['keyKey, no aad', keyKey, Buffer.alloc(0)],
        ['the new tracker secret', wrapKey(stolenSecret), aad(user)],
        ['an all-zero secret', wrapKey(Buffer.alloc(32)), aad(user)],
        ['an empty secret', wrapKey(Buffer.alloc(0)), aad(user)],
        ['a random secret', wrapKey(randomBytes(32)), aad(user)],
      ];
      for (const [what, key, data] of guesses) {
        assert.throws(() => open(key, stored, data), ProtocolError, `${what} must not unwrap ${user}'s blob`);
      }
    }

  });
});
