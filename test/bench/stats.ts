// Small helpers shared by the benchmarks: percentiles, progress lines on stderr, and a process's
// memory and CPU read from /proc (Linux; n/a elsewhere).

import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function mean(samples: readonly number[]): number {
  return samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : NaN;
}

/**
 * Progress for a long phase on stderr ("registered 400/1000"), at most one line per
 * `everyMs` and always the last one.
 */
export function progress(label: string, total: number, everyMs = 2_000): (done: number) => void {
  let last = 0;
  return (done) => {
    const now = Date.now();
    if (done < total && now - last < everyMs) return;
    last = now;
    process.stderr.write(`  ${label} ${done}/${total}\n`);
  };
}

/** Field of /proc/<pid>/status in KiB (VmRSS, VmHWM, ...), or null when it cannot be read. */
export function procStatusKiB(pid: number, field: string): number | null {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

export const rssMiB = (pid: number): number | null => kibToMiB(procStatusKiB(pid, 'VmRSS'));
/** The process's peak resident set (the kernel's high-water mark). */
export const peakRssMiB = (pid: number): number | null => kibToMiB(procStatusKiB(pid, 'VmHWM'));

function kibToMiB(kib: number | null): number | null {
  return kib === null ? null : kib / 1024;
}

/** User + system CPU seconds the process (all its threads) has used, or null. */
export function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name (which may contain spaces): utime is the 14th field overall.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / CLOCK_TICKS;
  } catch {
    return null;
  }
}

/** sysconf(_SC_CLK_TCK): 100 on every Linux that Node supports. */
const CLOCK_TICKS = 100;

/** CPU seconds used by `pid` between the call and the returned function's call. */
export function cpuMeter(pid: number): () => number | null {
  const start = cpuSeconds(pid);
  return () => {
    const end = cpuSeconds(pid);
    return start === null || end === null ? null : end - start;
  };
}

/** The whole machine's CPU from /proc/stat, in core-seconds since boot, or null. */
export function machineCpuSeconds(): { busy: number; idle: number } | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const [, ...ticks] = line.trim().split(/\s+/);
    const [user, nice, system, idle, iowait, irq, softirq, steal] = ticks.map(Number);
    return { busy: (user + nice + system + irq + softirq + steal) / CLOCK_TICKS, idle: (idle + iowait) / CLOCK_TICKS };
  } catch {
    return null;
  }
}

export interface CpuSplit {
  seconds: number;
  /** Average cores used over the interval by: the watched process, this process, everything else; and idle. */
  watched: number;
  self: number;
  other: number;
  idle: number;
}

/**
 * Where the machine's CPU went between the call and the returned function's call: the watched
 * process (e.g. the tracker), this process (the bench clients), other processes, idle. Other
 * work on a shared machine shows up as `other`.
 */
export function cpuSplit(pid: number): () => CpuSplit | null {
  const start = { wall: performance.now(), watched: cpuSeconds(pid), self: process.cpuUsage(), machine: machineCpuSeconds() };
  return () => {
    const seconds = (performance.now() - start.wall) / 1000;
    const watchedEnd = cpuSeconds(pid);
    const machine = machineCpuSeconds();
    if (start.watched === null || watchedEnd === null || !start.machine || !machine || seconds <= 0) return null;
    const selfUsage = process.cpuUsage(start.self);
    const watched = (watchedEnd - start.watched) / seconds;
    const self = (selfUsage.user + selfUsage.system) / 1e6 / seconds;
    const busy = (machine.busy - start.machine.busy) / seconds;
    return { seconds, watched, self, other: Math.max(0, busy - watched - self), idle: (machine.idle - start.machine.idle) / seconds };
  };
}

export function formatSplit(split: CpuSplit | null, watchedName: string): string | null {
  if (!split) return null;
  const f = (x: number) => x.toFixed(2);
  return `${watchedName} ${f(split.watched)} / bench ${f(split.self)} / other ${f(split.other)} / idle ${f(split.idle)}`;
}
