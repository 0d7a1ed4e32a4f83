// Chat engines for integration tests: each with its own data folder and sockets, against a real
// tracker process. Registration uses cheap scrypt (FAST_SCRYPT_PARAMS); real clients never do.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientEvents } from '../../protocol/client.ts';
import { ChatEngine, type EngineOptions } from '../../peer/engine.ts';
import { FAST_SCRYPT_PARAMS } from './accounts.ts';

export const PASSWORD = 'plum vortex kayak marble 17';

interface After {
  after(fn: () => unknown): void;
}

export interface TestEngine extends ChatEngine {
  dataDir: string;
}

export async function makeEngine(t: After, tracker: { host: string; port: number }, opts: Partial<EngineOptions> & { dataDir?: string } = {}): Promise<TestEngine> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'p2p-engine-')));
  const engine = new ChatEngine({ dataDir, tracker, peerHost: '127.0.0.1', scryptParams: FAST_SCRYPT_PARAMS, backoffMs: [50, 100, 200], ...opts }) as TestEngine;
  engine.dataDir = dataDir;
  if (process.env.P2P_DEBUG) engine.on('error', (e) => console.error('[engine error]', engine.user, e.code, e.message));
  t.after(async () => {
    await engine.close().catch(() => {});
    if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  return engine;
}

export async function registered(t: After, tracker: { host: string; port: number }, user: string, opts: Partial<EngineOptions> = {}): Promise<TestEngine> {
  const engine = await makeEngine(t, tracker, opts);
  await engine.register(user, PASSWORD);
  await engine.login(user, PASSWORD);
  return engine;
}

/** Resolves with the first event of that name matching `pred`; rejects after `ms`. */
export function waitFor<K extends keyof ClientEvents>(engine: ChatEngine, name: K, pred: (e: ClientEvents[K]) => boolean = () => true, ms = 10_000): Promise<ClientEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      engine.off(name, on as never);
      reject(new Error(`no ${name} event within ${ms} ms`));
    }, ms);
    const on = (e: ClientEvents[K]) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      engine.off(name, on as never);
      resolve(e);
    };
    engine.on(name, on as never);
  });
}

/** Collects every event of that name from now on. */
export function collect<K extends keyof ClientEvents>(engine: ChatEngine, name: K): ClientEvents[K][] {
  const seen: ClientEvents[K][] = [];
  engine.on(name, ((e: ClientEvents[K]) => seen.push(e)) as never);
  return seen;
}

/**
 * Registers `users` (each logged in), the first creates room `name` and the others join it;
 * resolves once the creator has seen every join. Returns the engines by user and the room id.
 */
export async function roomOf(t: After, tracker: { host: string; port: number }, users: string[], name: string): Promise<{ engines: Record<string, TestEngine>; id: string }> {
  const engines: Record<string, TestEngine> = {};
  for (const user of users) engines[user] = await registered(t, tracker, user);
  const [owner, ...rest] = users;
  const { id } = await engines[owner].createRoom(name);
  const joined = Promise.all(rest.map((user) => waitFor(engines[owner], 'member_joined', (e) => e.roomId === id && e.user === user)));
  for (const user of rest) await engines[user].joinRoom(id);
  await joined;
  return { engines, id };
}
