// Timestamps along the message path of a `node peer` process, for a run of the paced scenario:
//   P2P_TRACE_DIR=/tmp/t npm run bench -- --sizes 2 --paced 100 --peer-entry test/bench/trace-peer.mjs
// It wraps what the bundle calls (crypto sign/verify, socket and pipe writes, 'data' events,
// journal writes), runs dist/peer.cjs, and on exit writes trace-<pid>.txt: for each message handled
// alone (events more than 50 ms from any other), the time from its first event to each mark, and
// the medians over all of them (P2P_TRACE_MORE, P2P_TRACE_BUNDLE: below). A paced message now
// makes more events than the default cap (store pages): P2P_TRACE_MAX_EVENTS=400 keeps it, and
// P2P_TRACE_PICK=sign (sender) or =verify (receiver) writes out only messages with that mark. The wrappers cost a few microseconds a mark.

import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const dir = process.env.P2P_TRACE_DIR ?? '/tmp';
const events = [];
const mark = (what) => events.push([performance.now(), what]);
const wrap = (obj, name, before, after = before && `${before}>`) => {
  const orig = obj[name];
  obj[name] = function (...args) {
    const label = typeof before === 'function' ? before(this, args) : before;
    if (label) mark(label);
    const r = orig.apply(this, args);
    if (label && after) mark(typeof before === 'function' ? `${label}>` : after);
    return r;
  };
};
wrap(crypto, 'sign', 'sign');
wrap(crypto, 'verify', 'verify');
wrap(fs, 'writeSync', (_, [fd]) => (fd > 2 ? 'file.writeSync' : undefined));
wrap(fs, 'fdatasyncSync', 'fdatasync');
// P2P_TRACE_MORE=1: finer marks (JSON, random bytes, ciphers, HMACs, every synchronous file call,
// microtask/turn boundaries), to split the gaps between the coarse ones.
if (process.env.P2P_TRACE_MORE) {
  for (const name of ['randomBytes', 'createCipheriv', 'createDecipheriv', 'createHmac', 'createHash', 'createPrivateKey', 'createPublicKey']) wrap(crypto, name, name);
  for (const name of ['openSync', 'renameSync', 'fsyncSync', 'closeSync', 'writeFileSync', 'readFileSync', 'statSync']) wrap(fs, name, name);
  wrap(JSON, 'parse', (_, [text]) => (typeof text === 'string' && text.length > 40 ? `JSON.parse ${text.slice(0, 12)}` : undefined));
  wrap(JSON, 'stringify', (_, [v]) => (v && typeof v === 'object' ? `JSON.stringify ${Object.keys(v).slice(0, 2).join(',')}` : undefined));
  const si = globalThis.setImmediate;
  globalThis.setImmediate = (fn, ...a) => si(() => (mark('immediate'), fn(...a)));
  const st = globalThis.setTimeout;
  globalThis.setTimeout = (fn, ms, ...a) => st(() => (mark(`timeout ${ms}`), fn(...a)), ms);
}
const MAX_EVENTS = Number(process.env.P2P_TRACE_MAX_EVENTS) || (process.env.P2P_TRACE_MORE ? 80 : 16);
const emit = net.Socket.prototype.emit;
net.Socket.prototype.emit = function (name, ...args) {
  if (name === 'data') mark(this === process.stdin ? 'stdin.data' : `tcp.data ${args[0].length} B`);
  return emit.call(this, name, ...args);
};
for (const method of ['_writeGeneric', '_writev']) {
  const orig = net.Socket.prototype[method];
  net.Socket.prototype[method] = function (...args) {
    mark(this === process.stdout ? 'stdout.write' : 'tcp.write');
    return orig.apply(this, args);
  };
}

process.on('exit', () => {
  const clusters = [];
  let current = [];
  for (const e of events) {
    if (current.length && e[0] - current[current.length - 1][0] > 50) clusters.push(current), (current = []);
    current.push(e);
  }
  if (current.length) clusters.push(current);
  // A paced message: few events, starting with the command (sender) or a frame (receiver).
  const lone = clusters.filter((c) => c.length <= MAX_EVENTS && /^(stdin|tcp)\.data/.test(c[0][1]));
  const byShape = new Map();
  for (const c of lone) {
    const shape = c.map((e) => e[1].replace(/ \d+ B$/, '')).join(' | ');
    byShape.set(shape, [...(byShape.get(shape) ?? []), c.map((e) => e[0] - c[0][0])]);
  }
  const lines = [];
  for (const [shape, runs] of [...byShape].sort((a, b) => b[1].length - a[1].length)) {
    if (runs.length < 3) continue;
    const labels = shape.split(' | ');
    const med = labels.map((_, i) => runs.map((r) => r[i]).sort((a, b) => a - b)[runs.length >> 1]);
    lines.push(`${runs.length} messages, median ms from the first event:`, ...labels.map((l, i) => `  ${med[i].toFixed(3).padStart(8)}  ${l}`));
  }
  // Finer marks vary from message to message: a few of them are written out whole as well.
  if (process.env.P2P_TRACE_MORE) {
    const picked = process.env.P2P_TRACE_PICK ? lone.filter((c) => c.some((e) => e[1].startsWith(process.env.P2P_TRACE_PICK))) : lone;
    for (const c of picked.slice(-5)) lines.push('one message, ms from its first event:', ...c.map((e) => `  ${(e[0] - c[0][0]).toFixed(3).padStart(8)}  ${e[1]}`));
  }
  fs.writeFileSync(join(dir, `trace-${process.pid}.txt`), lines.join('\n') + '\n');
});

// P2P_TRACE_BUNDLE: another bundle (an A/B build) instead of dist/peer.cjs.
createRequire(import.meta.url)(process.env.P2P_TRACE_BUNDLE ?? '../../dist/peer.cjs');
