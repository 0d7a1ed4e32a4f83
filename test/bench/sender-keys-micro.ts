// Micro-benchmark (not a test) of peer/sender-keys: per-message cost of encryptMessage (HMAC
// ratchet, AES-256-GCM, RSA-PSS sign) and decryptEnvelope (checks, RSA-PSS verify, ratchet,
// AES-256-GCM, body parse), in µs, over N messages; then one bundle for a room of 50.
// The original took about 25 ms of CPU per received message (DESIGN.md, "What the original got wrong").
// Last, the receiver's journal record per message (fsync'ed before the message may be shown).
//   node --import tsx test/bench/sender-keys-micro.ts [N] [TEXT_BYTES]
import { generateRsaKeyPair, randomBytes, toBase64Url } from '../../protocol/crypto.ts';
import {
  decryptEnvelope, encryptMessage, makeBundle, newOutboundSession, openBundle,
} from '../../peer/sender-keys.ts';
import { SESSION_MAX_MESSAGES, type Envelope } from '../../protocol/peer.ts';

const N = Number(process.argv[2] ?? 1000);
const TEXT_BYTES = Number(process.argv[3] ?? 200);
const WARMUP = 50;

const [aliceSign, bobEnc] = await Promise.all([generateRsaKeyPair(), generateRsaKeyPair()]);
const room = toBase64Url(randomBytes(32));
const head = { seq: 7, hash: toBase64Url(randomBytes(32)) };
const text = 'x'.repeat(TEXT_BYTES);

function stats(name: string, ns: bigint[]): void {
  const us = ns.map((t) => Number(t) / 1000).sort((a, b) => a - b);
  const at = (q: number) => us[Math.min(us.length - 1, Math.ceil(q * us.length) - 1)];
  console.log(`${name.padEnd(34)} n=${us.length}  median ${at(0.5).toFixed(1)} µs  p99 ${at(0.99).toFixed(1)} µs  max ${us[us.length - 1].toFixed(1)} µs`);
}

function run(n: number, record: boolean): void {
  const enc: bigint[] = [];
  const dec: bigint[] = [];
  // A session carries at most SESSION_MAX_MESSAGES messages: a new one (not timed) after that.
  for (let done = 0; done < n; done += SESSION_MAX_MESSAGES) {
    const out = newOutboundSession(room, head, Date.now());
    const bundle = makeBundle(out, 'alice', aliceSign.privateKey, [{ user: 'bob', encryptionKey: bobEnc.publicKey }]);
    const bob = openBundle(bundle, { user: 'bob', encryptionKey: bobEnc.privateKey }, aliceSign.publicKey);
    const envs: Envelope[] = [];
    for (let i = done; i < Math.min(n, done + SESSION_MAX_MESSAGES); i++) {
      const t0 = process.hrtime.bigint();
      envs.push(encryptMessage(out, 'alice', aliceSign.privateKey, { time: Date.now(), text }));
      enc.push(process.hrtime.bigint() - t0);
    }
    for (const env of envs) {
      const t0 = process.hrtime.bigint();
      decryptEnvelope(env, bob, aliceSign.publicKey);
      dec.push(process.hrtime.bigint() - t0);
    }
  }
  if (record) {
    console.log(`node ${process.version}, ${N} messages of ${TEXT_BYTES} bytes, RSA-2048`);
    stats('encrypt (incl. RSA-PSS sign)', enc);
    stats('decrypt (incl. RSA-PSS verify)', dec);
  }
}

run(WARMUP, false);
run(N, true);

// A rotation in a room of 50: one signature, 49 OAEP wraps; each member opens one.
const recipients = Array.from({ length: 49 }, (_, i) => ({ user: `member${i}`, encryptionKey: bobEnc.publicKey }));
const make: bigint[] = [];
const open: bigint[] = [];
for (let i = 0; i < 20; i++) {
  const out = newOutboundSession(room, head, Date.now());
  let t0 = process.hrtime.bigint();
  const bundle = makeBundle(out, 'alice', aliceSign.privateKey, recipients);
  make.push(process.hrtime.bigint() - t0);
  t0 = process.hrtime.bigint();
  openBundle(bundle, { user: 'member7', encryptionKey: bobEnc.privateKey }, aliceSign.publicKey);
  open.push(process.hrtime.bigint() - t0);
}
stats('makeBundle, 49 recipients', make);
stats('openBundle (verify + OAEP decrypt)', open);

// The receiver's bookkeeping per message (peer/inbound-sessions.ts): record the changed session
// in the journal (one append + sync per turn) before the message may be shown; with 1 and with
// 500 other sessions held, so the cost is seen not to grow with them.
{
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { InboundSessions } = await import('../../peer/inbound-sessions.ts');
  const { SessionJournal } = await import('../../peer/session-journal.ts');
  for (const held of [1, 500]) {
    const dir = mkdtempSync(join(tmpdir(), 'p2p-micro-'));
    const store = new InboundSessions(new SessionJournal(join(dir, 'sessions.jsonl')), (e) => console.error(e));
    const bundleFor = () => makeBundle(newOutboundSession(toBase64Url(randomBytes(32)), head, Date.now()), 'alice', aliceSign.privateKey, [{ user: 'bob', encryptionKey: bobEnc.publicKey }]);
    const one = openBundle(bundleFor(), { user: 'bob', encryptionKey: bobEnc.privateKey }, aliceSign.publicKey);
    for (let i = 1; i < held; i++) store.add({ ...one, room: toBase64Url(randomBytes(32)), session: toBase64Url(randomBytes(16)), chainKey: randomBytes(32), skipped: new Map() });
    store.add(one);
    const times: bigint[] = [];
    for (let i = 0; i < 200; i++) {
      one.index += 1;
      const t0 = process.hrtime.bigint();
      store.changed(one);
      await new Promise<void>((resolve) => store.afterDurable(resolve));
      times.push(process.hrtime.bigint() - t0);
    }
    stats(`journal record + sync, ${held} held`, times);
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
