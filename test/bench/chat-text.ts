// Realistic chat text for the benchmarks, the same on every run (a seeded generator): short and
// long lines of a team's talk, words drawn with a Zipf-like skew (a few very common, many rare),
// some accented words, names, numbers, paths and code. `PLANTED` words occur a known number of times.

/** A seeded pseudo-random generator (mulberry32): numbers in [0, 1). */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COMMON = ['the', 'to', 'a', 'is', 'I', 'it', 'we', 'and', 'on', 'in', 'for', 'this', 'that', 'you', 'of', 'can', 'be', 'now', 'ok', 'so'];
const TEAM = [
  'build', 'deploy', 'review', 'merge', 'branch', 'test', 'flaky', 'green', 'red', 'release', 'staging', 'prod', 'rollback', 'ticket',
  'sprint', 'standup', 'meeting', 'lunch', 'coffee', 'tomorrow', 'today', 'friday', 'monday', 'later', 'done', 'thanks', 'looks', 'good',
  'fixed', 'broken', 'again', 'after', 'before', 'please', 'check', 'logs', 'error', 'timeout', 'retry', 'cache', 'config', 'server',
  'client', 'database', 'migration', 'schema', 'index', 'query', 'latency', 'memory', 'leak', 'crash', 'upgrade', 'version', 'patch',
  'docs', 'readme', 'issue', 'comment', 'question', 'answer', 'idea', 'plan', 'design', 'customer', 'demo', 'feedback', 'metrics',
];
const ACCENTED = ['café', 'résumé', 'naïve', 'Zürich', 'Ångström', 'señor', 'façade', 'jalapeño', 'déjà', 'Müller', 'Straße', 'São Paulo', 'Kraków'];
const NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'niaj', 'olivia', 'peggy', 'rupert'];
const CODE = [
  'src/peer/engine.ts:212', 'npm run build', '`git rebase -i HEAD~3`', 'TypeError: cannot read properties of undefined', 'SELECT * FROM messages',
  'https://ci.example.invalid/job/4711', '`await db.flush()`', 'EADDRINUSE 127.0.0.1:7000', 'p99 < 10 ms', '#issue-12',
];

/** Words planted in exactly `count` messages each (spread evenly), for a rare-word search. */
export const PLANTED = { word: 'quokka', count: 20 } as const;
/** A word that no generated message holds. */
export const ABSENT = 'xylophonist';

function pick<T>(list: readonly T[], rnd: () => number, skew = 1.6): T {
  // Zipf-like: low indexes far more often than high ones.
  return list[Math.min(list.length - 1, Math.floor(list.length * Math.pow(rnd(), skew)))]!;
}

/**
 * The text of message `i` of `total`: 3 to 60 words (most 8-20), about 90 characters on average,
 * deterministic for (seed, i).
 */
export function chatText(i: number, total: number, seed = 12): string {
  const rnd = seeded(seed * 1_000_003 + i);
  const long = rnd() < 0.08;
  const words = long ? 25 + Math.floor(rnd() * 35) : 3 + Math.floor(rnd() * rnd() * 25);
  const out: string[] = [];
  for (let w = 0; w < words; w++) {
    const r = rnd();
    if (r < 0.45) out.push(pick(COMMON, rnd));
    else if (r < 0.85) out.push(pick(TEAM, rnd, 1.3));
    else if (r < 0.9) out.push(`@${pick(NAMES, rnd)}`);
    else if (r < 0.94) out.push(pick(ACCENTED, rnd));
    else if (r < 0.97) out.push(String(Math.floor(rnd() * 10_000)));
    else out.push(pick(CODE, rnd));
  }
  const every = Math.max(1, Math.floor(total / PLANTED.count));
  if (i % every === every >> 1 && i / every < PLANTED.count) out.splice(Math.floor(out.length / 2), 0, PLANTED.word);
  let text = out.join(' ');
  text = text[0]!.toUpperCase() + text.slice(1);
  return text + (rnd() < 0.3 ? '?' : rnd() < 0.5 ? '.' : '');
}
