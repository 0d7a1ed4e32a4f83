// Preloaded into a `node peer` process by the memory benchmark (test/bench/catch-up-bench.ts,
// `node --expose-gc --require memory-probe.cjs peer ...`): on SIGUSR2 it collects garbage and
// writes the process's memory as one line on stderr (stdout carries the peer's JSON lines only).
'use strict';
process.on('SIGUSR2', () => {
  if (typeof global.gc === 'function') global.gc();
  const m = process.memoryUsage();
  process.stderr.write(`MEMORY-PROBE ${JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers })}\n`);
});
