// Benchmark output shared by the benchmarks under test/bench/: a plain-text table on stdout and
// the same rows as JSON (with the machine they were measured on), so runs can be compared.

import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, platform, release } from 'node:os';
import { dirname, resolve } from 'node:path';

export interface ReportRow {
  metric: string;
  /** null when the metric could not be measured (the note says why). */
  value: number | string | null;
  unit: string;
  /** Shown after the value in the table; kept in the JSON. */
  note?: string;
  /** Anything else (a phase, raw samples' count, ...) goes to the JSON only. */
  [extra: string]: unknown;
}

export interface ReportOptions {
  /** Written to the JSON as `meta` (parameters of the run, notes) and, as lines, under the table. */
  meta?: Record<string, unknown>;
  notes?: string[];
  /** Where the table goes; default stdout. */
  write?: (text: string) => void;
}

/** Prints the table, writes `{title, date, machine, meta, notes, rows}` to jsonPath; returns the absolute path. */
export function report(title: string, rows: ReportRow[], jsonPath: string, opts: ReportOptions = {}): string {
  const write = opts.write ?? ((text: string) => process.stdout.write(text));
  const path = resolve(jsonPath);
  write(formatTable(title, rows, opts.notes ?? []));
  mkdirSync(dirname(path), { recursive: true });
  const json = {
    title,
    date: new Date().toISOString(),
    machine: machine(),
    meta: opts.meta ?? {},
    notes: opts.notes ?? [],
    rows,
  };
  writeFileSync(path, JSON.stringify(json, null, 2) + '\n');
  write(`results written to ${path}\n`);
  return path;
}

export function machine(): Record<string, unknown> {
  const cpu = cpus();
  return {
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    memoryMiB: Math.round(totalmem() / 1024 / 1024),
  };
}

/** Three significant digits, thousands separated; strings as they are; null as n/a. */
export function formatValue(value: number | string | null): string {
  if (value === null) return 'n/a';
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  const digits = abs === 0 || Number.isInteger(value) ? 0 : abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function formatTable(title: string, rows: ReportRow[], notes: string[] = []): string {
  const cells = rows.map((r) => [r.metric, formatValue(r.value), r.unit, r.note ?? '']);
  const head = ['metric', 'value', 'unit', 'note'];
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: string[]) =>
    [c[0].padEnd(width[0]), c[1].padStart(width[1]), c[2].padEnd(width[2]), c[3]].join('  ').trimEnd();
  const rule = '-'.repeat(Math.min(160, width.reduce((a, b) => a + b + 2, 0)));
  const out = [``, title, rule, line(head), rule, ...cells.map(line), rule];
  for (const n of notes) out.push(`* ${n}`);
  return out.join('\n') + '\n';
}
