// Reads a V8 .cpuprofile (from `node --cpu-prof`) and ranks functions by self time and by total
// (inclusive) time, mapped back to the TypeScript sources through the bundle's source map when
// there is one (dist/peer.cjs.map). Used by `npm run bench -- --profile`.

import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import { relative } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  /** source file:line (mapped through the source map when possible) */
  where: string;
  selfMs: number;
  selfPct: number;
  totalMs: number;
  totalPct: number;
}

export interface ProfileSummary {
  file: string;
  /** Sampled time, ms (idle included). */
  sampledMs: number;
  /** Sampled time not spent idle, ms. */
  busyMs: number;
  idleMs: number;
  gcMs: number;
  bySelf: HotFunction[];
  byTotal: HotFunction[];
}

const maps = new Map<string, SourceMap | null>();

function sourceMapFor(url: string): SourceMap | null {
  if (maps.has(url)) return maps.get(url)!;
  let map: SourceMap | null = null;
  try {
    const path = url.startsWith('file:') ? fileURLToPath(url) : url;
    if (existsSync(`${path}.map`)) map = new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8')));
  } catch {
    map = null;
  }
  maps.set(url, map);
  return map;
}

function locate(frame: CallFrame, root: string): string {
  if (!frame.url) return '(native)';
  const map = sourceMapFor(frame.url);
  if (map) {
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string; originalLine?: number };
    if (entry && entry.originalSource) {
      const src = entry.originalSource.startsWith('file:') ? fileURLToPath(entry.originalSource) : entry.originalSource;
      return `${src.replace(/^(\.\.\/)+/, '')}:${(entry.originalLine ?? 0) + 1}`;
    }
  }
  const path = frame.url.startsWith('file:') ? fileURLToPath(frame.url) : frame.url;
  return `${path.startsWith(root) ? relative(root, path) : path}:${frame.lineNumber + 1}`;
}

/** Top `limit` functions of one profile by self and by total time. */
export function summarizeProfile(file: string, root: string, limit = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const selfUs = new Map<number, number>();
  let sampledUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    sampledUs += dt;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + dt);
  }

  const key = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'}\u0000${n.callFrame.url}\u0000${n.callFrame.lineNumber}\u0000${n.callFrame.columnNumber}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const frameOf = new Map<string, CallFrame>();
  let idleUs = 0;
  let gcUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    if (name === '(idle)') idleUs += us;
    if (name === '(garbage collector)') gcUs += us;
    const k = key(node);
    frameOf.set(k, node.callFrame);
    self.set(k, (self.get(k) ?? 0) + us);
    // Inclusive: every distinct function on the stack gets the sample once (recursion counted once).
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur)!;
      const ck = key(n);
      if (seen.has(ck)) continue;
      seen.add(ck);
      frameOf.set(ck, n.callFrame);
      total.set(ck, (total.get(ck) ?? 0) + us);
    }
  }
  const busyUs = sampledUs - idleUs;
  // (program) is time in V8/native code outside any JS function: busy, but not a function to rank.
  const skip = new Set(['(root)', '(idle)', '(program)']);
  const rank = (m: Map<string, number>): HotFunction[] =>
    [...m.entries()]
      .filter(([k]) => !skip.has(frameOf.get(k)!.functionName))
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([k]) => {
        const f = frameOf.get(k)!;
        const s = self.get(k) ?? 0;
        const t = total.get(k) ?? 0;
        return {
          name: f.functionName || '(anonymous)',
          where: locate(f, root),
          selfMs: round(s / 1000),
          selfPct: round((s / Math.max(1, busyUs)) * 100),
          totalMs: round(t / 1000),
          totalPct: round((t / Math.max(1, busyUs)) * 100),
        };
      });
  return {
    file,
    sampledMs: round(sampledUs / 1000),
    busyMs: round(busyUs / 1000),
    idleMs: round(idleUs / 1000),
    gcMs: round(gcUs / 1000),
    bySelf: rank(self),
    byTotal: rank(total),
  };
}

export function formatProfile(label: string, s: ProfileSummary): string {
  const lines = [`${label}: ${s.file}`, `  sampled ${s.sampledMs} ms, busy ${s.busyMs} ms (idle ${s.idleMs} ms, GC ${s.gcMs} ms)`];
  const table = (title: string, rows: HotFunction[], pick: (h: HotFunction) => [number, number]) => {
    lines.push(`  ${title}:`);
    for (const h of rows) {
      const [ms, pct] = pick(h);
      lines.push(`    ${ms.toFixed(0).padStart(7)} ms ${pct.toFixed(1).padStart(5)}%  ${h.name}  ${h.where}`);
    }
  };
  table('top functions by self time (% of busy time)', s.bySelf, (h) => [h.selfMs, h.selfPct]);
  table('top functions by total time (callees included)', s.byTotal, (h) => [h.totalMs, h.totalPct]);
  return lines.join('\n') + '\n';
}

const round = (x: number) => Math.round(x * 10) / 10;
