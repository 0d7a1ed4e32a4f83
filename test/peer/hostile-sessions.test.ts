// A member with a modified client announces hundreds of sender sessions and uses each far ahead
// (issue 7, item 7): the receiver keeps within the caps of protocol/peer.ts, in memory and on disk,
// honest messages still flow, and their time does not grow with what the attacker announced.
// Real `node tracker`, real engines and links; the attacker speaks with its own keys, by hand.

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { performance } from 'node:perf_hooks';
import { randomBytes, toBase64Url } from '../../protocol/crypto.ts';
import {
  MAX_SESSIONS_PER_SENDER, MAX_SKIPPED_KEYS_PER_SENDER, SESSION_MAX_MESSAGES, type Envelope, type MessageBody, type SessionBundle,
} from '../../protocol/peer.ts';
import { eventHash, type RoomHead } from '../../protocol/room-log.ts';
import type { InboundSessions } from '../../peer/inbound-sessions.ts';
import { deriveNextChainKey, encryptMessage, makeBundle, newOutboundSession, type OutboundSession } from '../../peer/sender-keys.ts';
import { collect, expectErrors, makeEngine, registered, waitFor, type TestEngine } from '../helpers/engines.ts';
import { linkTo, savedKeys } from '../helpers/proxy.ts';
import { FAST_TRACKER_ARGS, startTracker } from '../helpers/tracker-process.ts';

const HOSTILE_SESSIONS = 500;
const SAMPLES = 9;

function body(text: string): MessageBody {
  return { id: toBase64Url(randomBytes(12)), time: Date.now(), text };
}

/** An envelope of `s` at `seq` (the chain moved on by hand: what a modified client can do). */
function at(s: OutboundSession, seq: number, sender: string, key: Parameters<typeof encryptMessage>[2], text: string): Envelope {
  const copy: OutboundSession = { ...s, chainKey: Buffer.from(s.chainKey) };
  for (; copy.next < seq; copy.next++) copy.chainKey = deriveNextChainKey(copy.chainKey);
  return encryptMessage(copy, sender, key, body(text));
}

function headOf(engine: TestEngine, room: string): RoomHead {
  engine.data.flush();
  const last = engine.data.loadState(engine.user!).rooms.get(room)!.events.at(-1)!;
  return { seq: last.seq, hash: eventHash(last) };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

test('500 sessions announced by one member, each used far ahead: the receiver stays within the caps and honest messages keep their pace', { timeout: 300_000 }, async (t) => {
  const tracker = await startTracker(t, { args: [...FAST_TRACKER_ARGS] });
  const alice = await registered(t, tracker, 'alice');
  const bob = await registered(t, tracker, 'bob');
  const others = [await registered(t, tracker, 'carol'), await registered(t, tracker, 'dave')];
  const mallory = await registered(t, tracker, 'mallory');
  const { id: room } = await alice.createRoom('lab');
  for (const e of [bob, ...others, mallory]) {
    const seen = waitFor(alice, 'member_joined', (j) => j.user === e.user);
    await e.joinRoom('lab');
    await seen;
  }
  const keys = { mallory: savedKeys(mallory, 'mallory'), bob: savedKeys(bob, 'bob') };
  await mallory.close();
  const head = headOf(bob, room);

  /** Time from alice's send to bob showing it, per message, one at a time. */
  let n = 0;
  const pace = async (): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const text = `honest ${n++}`;
      const shown = waitFor(bob, 'message', (m) => m.text === text, 60_000);
      const t0 = performance.now();
      await alice.sendRoom('lab', text);
      await shown;
      times.push(performance.now() - t0);
    }
    return times;
  };
  const before = await pace();

  // The attack: a new session per bundle, each used at the last index a session may carry (99
  // keys skipped) and far beyond it (refused).
  const link = await linkTo(t, bob, keys.mallory, keys.bob);
  const refused = { far: 0 };
  expectErrors(bob, ['message.too_far_ahead']);
  bob.on('error', (e) => {
    if (e.code === 'message.too_far_ahead') refused.far++;
  });
  const attackStart = performance.now();
  const sent: { bundle: SessionBundle; envelope: Envelope }[] = [];
  for (let i = 0; i < HOSTILE_SESSIONS; i++) {
    const s = newOutboundSession(room, head, Date.now() + i);
    const bundle = makeBundle(s, 'mallory', keys.mallory.signingKey, [{ user: 'bob', encryptionKey: keys.bob.encryptionPublic }]);
    const envelope = at(s, SESSION_MAX_MESSAGES - 1, 'mallory', keys.mallory.signingKey, `hostile ${i}`);
    sent.push({ bundle, envelope });
    link.send({ t: 'session', bundle });
    link.send({ t: 'envelope', envelope });
    link.send({ t: 'envelope', envelope: at(s, 2000, 'mallory', keys.mallory.signingKey, `hostile far ${i}`) });
  }
  const last = waitFor(bob, 'message', (m) => m.text === `hostile ${HOSTILE_SESSIONS - 1}`, 240_000);
  await last;
  const attackMs = performance.now() - attackStart;
  assert.equal(refused.far, HOSTILE_SESSIONS, 'every envelope beyond what a session may carry was refused');

  // In memory: within the caps.
  const store = (bob as unknown as { s: { inbound: InboundSessions } }).s.inbound;
  const held = store.stats(room);
  assert.ok(held.sessions <= MAX_SESSIONS_PER_SENDER + 4, `bob holds ${held.sessions} sessions in the room`);
  assert.ok(held.skipped <= MAX_SKIPPED_KEYS_PER_SENDER + 4 * SESSION_MAX_MESSAGES, `bob holds ${held.skipped} skipped keys in the room`);

  // Honest messages: still shown, at a pace that did not grow with the attack.
  const after = await pace();
  const [mb, ma] = [median(before), median(after)];
  t.diagnostic(`per honest message, send to shown: median ${mb.toFixed(1)} ms before, ${ma.toFixed(1)} ms after ${HOSTILE_SESSIONS} hostile sessions (attack handled in ${attackMs.toFixed(0)} ms)`);
  assert.ok(ma <= Math.max(4 * mb, mb + 250), `median ${ma.toFixed(1)} ms after the attack, ${mb.toFixed(1)} ms before`);

  // On disk, after a clean close: the compacted journal holds what the caps allow, no more.
  const closeStart = performance.now();
  await bob.close();
  const closeMs = performance.now() - closeStart;
  const journal = statSync(join(bob.dataDir, 'sessions.jsonl')).size;
  const state = statSync(join(bob.dataDir, 'state.json')).size;
  t.diagnostic(`bob on disk: sessions.jsonl ${journal} bytes, state.json ${state} bytes; close took ${closeMs.toFixed(0)} ms`);
  assert.ok(journal < 128 * 1024, `sessions.jsonl is ${journal} bytes`);

  // The evicted sessions stay refused after a restart: mallory's first bundle is not reopened,
  // and its envelope is not shown again; a new session of hers is (the marker, same link).
  const bob2 = await makeEngine(t, tracker, { dataDir: bob.dataDir });
  const shown = collect(bob2, 'message');
  assert.equal(await bob2.resume(), true);
  const again = (bob2 as unknown as { s: { inbound: InboundSessions } }).s.inbound;
  assert.ok(again.stats(room).sessions <= MAX_SESSIONS_PER_SENDER + 4);
  const link2 = await linkTo(t, bob2, keys.mallory, keys.bob);
  const ended = waitFor(bob2, 'error', (e) => e.code === 'session.ended', 60_000);
  // The bundle is refused, so its envelope comes with no session key to open it.
  expectErrors(bob2, [(e) => e.code === 'request.invalid' && /a message from mallory arrived without its session key/.test(e.message)]);
  link2.send({ t: 'session', bundle: sent[0].bundle });
  link2.send({ t: 'envelope', envelope: sent[0].envelope });
  await ended;
  const fresh = newOutboundSession(room, head, Date.now() + HOSTILE_SESSIONS);
  const marker = waitFor(bob2, 'message', (m) => m.text === 'mallory marker', 60_000);
  link2.send({ t: 'session', bundle: makeBundle(fresh, 'mallory', keys.mallory.signingKey, [{ user: 'bob', encryptionKey: keys.bob.encryptionPublic }]) });
  link2.send({ t: 'envelope', envelope: encryptMessage(fresh, 'mallory', keys.mallory.signingKey, body('mallory marker')) });
  await marker;
  assert.deepEqual(shown.map((m) => m.text), ['mallory marker']);
});
