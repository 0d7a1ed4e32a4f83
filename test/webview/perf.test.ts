// The performance bar for the timeline, measured in the page (Performance API,
// PerformanceObserver 'longtask', MutationObserver) on the BUILT bundle in headless Chromium:
//   - a 10,000-message conversation opens in under 300 ms (from the host's conversation/opened
//     to the frame after its latest message is in the DOM and on screen);
//   - scrolling through it causes no long task over 50 ms, and never shows blank space: page-
//     sized steps from the bottom, then jumps across the whole conversation to its first message
//     (a scrollbar drag), then real mouse-wheel input back down;
//   - a new message reaches the DOM in under 16 ms at p99 (200 messages, dispatch to node).
// Prints the numbers and writes them to bench-results/webview-perf.json.
//
// Long tasks are wall-clock time: on a shared machine, other processes taking the CPU make a
// short task long. So the whole scenario runs up to ATTEMPTS times in a fresh page and passes if
// one run meets every budget; every run, with the load average around it, is in the report.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { describe, test } from 'node:test';
import { percentile } from '../bench/stats.ts';
import { report, type ReportRow } from '../bench/report.ts';
import { useHarness, WAIT_MS, type Harness, type Teardown } from './harness.ts';
import { GENERAL_MEMBERS, loggedIn, ME } from './fixtures.ts';

const MESSAGES = 10_000;
const NEW_MESSAGES = 200;
const OPEN_BUDGET_MS = 300;
const LONG_TASK_BUDGET_MS = 50;
const NEW_MESSAGE_P99_BUDGET_MS = 16;
const PAGE_STEPS = 150;
const JUMPS = 60;
const WHEEL_STEPS = 100;
const WHEEL_PX = 500;
const ATTEMPTS = 3;

interface LongTask {
  start: number;
  duration: number;
}

declare global {
  interface Window {
    __longTasks: LongTask[];
    __perfItems: unknown[];
  }
}

interface Run {
  openMs: number;
  rowsInDom: number;
  openLongTasks: number[];
  scrollSteps: number;
  scrollLongTasks: number[];
  blankFrames: number;
  worstFrameMs: number;
  arrivals: number[];
  arrivalLongTasks: number[];
  loadBefore: number;
  loadAfter: number;
}

const loadAverage = (): number => Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);

function failures(run: Run): string[] {
  const out: string[] = [];
  if (run.openMs >= OPEN_BUDGET_MS) out.push(`opening took ${run.openMs.toFixed(1)} ms (budget ${OPEN_BUDGET_MS})`);
  const long = run.scrollLongTasks.filter((d) => d > LONG_TASK_BUDGET_MS);
  if (long.length) out.push(`long tasks while scrolling: ${long.map((d) => d.toFixed(0)).join(', ')} ms (budget: none over ${LONG_TASK_BUDGET_MS})`);
  if (run.blankFrames) out.push(`${run.blankFrames} frames showed blank space while scrolling`);
  const p99 = percentile(run.arrivals, 99);
  if (p99 >= NEW_MESSAGE_P99_BUDGET_MS) out.push(`new message p99 ${p99.toFixed(2)} ms (budget ${NEW_MESSAGE_P99_BUDGET_MS})`);
  return out;
}

async function measure(harness: Harness, t: Teardown): Promise<Run> {
  const loadBefore = loadAverage();
  const view = await harness.open(t, { width: 400, height: 900 });
  const page = view.page;
  await view.send({ type: 'host/snapshot', snapshot: loggedIn() });
  await page.locator('.lists').waitFor({ timeout: WAIT_MS });

  // A realistic conversation, built in the page so building it is not measured: five people,
  // bursts and gaps over weeks, Markdown, links, code, mentions, snippets and notices.
  await page.evaluate(
    ({ n, me }) => {
      const senders = [me, 'bob', 'carol', 'dave', 'erin'];
      const texts = [
        'ok',
        'Sounds good to me 👍',
        'Did anyone look at the **build failure** on main? It fails in `peer/engine.ts` since this morning.',
        'I think the problem is the retry timer: it never resets after a successful reconnect, so the second drop waits the full backoff.\nI will push a fix after lunch.',
        'see https://example.com/issues/123 and the [design notes](https://example.com/design)',
        '- first\n- second\n- third with `code`',
        '```ts\nconst timer = new RetryTimer({ backoffs: [100, 500, 2000], jitter: 0 });\ntimer.reset();\n```',
        '> quoting what @bob said earlier\n\nand replying to it at some length, because a long reply wraps over several lines in a narrow sidebar and that is what row heights must cope with.',
        `@${me} can you review?`,
        'lunch?',
      ];
      const items: unknown[] = [];
      // About seven weeks of bursts and gaps, ending in the past: new messages (sent now) come after it.
      let t = Date.now() - 60 * 86_400_000;
      for (let i = 0; i < n; i++) {
        t += i % 37 === 0 ? 3 * 3_600_000 : i % 5 === 0 ? 7 * 60_000 : 20_000;
        if (i % 250 === 0 && i > 0) {
          const level = i % 500 === 0 ? 'info' : 'warning';
          items.push({ kind: 'notice', id: `n${i}`, time: t, text: level === 'info' ? `${senders[i % 5]} joined` : `${senders[i % 5]}'s identity key changed`, level });
        }
        const from = senders[((i * 7) % 11) % 5]!;
        const text = texts[(i * 13) % texts.length]!;
        const item: Record<string, unknown> = { kind: 'message', id: `m${i}`, from, text: `${text} (#${i})`, sentAt: t, mine: from === me, mentionsMe: text.includes(`@${me}`) };
        if (from === me) item.delivered = { count: i % 3, of: 2 };
        if (i % 97 === 0) {
          item.snippet = { language: 'typescript', path: 'peer/engine.ts', startLine: 100 + (i % 50), endLine: 110 + (i % 50), code: 'if (!this.user) {\n  throw new Error("not logged in");\n}\nreturn this.rooms.get(id);' };
        }
        items.push(item);
      }
      window.__perfItems = items;
      window.__longTasks = [];
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) window.__longTasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask' });
    },
    { n: MESSAGES, me: ME },
  );
  assert.ok(await page.evaluate(() => PerformanceObserver.supportedEntryTypes.includes('longtask')), 'this Chromium reports long tasks');

  // ---- open --------------------------------------------------------------------------------------
  const open = await page.evaluate(
    ({ last, members }) =>
      new Promise<{ ms: number; visible: boolean; rowsInDom: number }>((resolve) => {
        const t0 = performance.now();
        const done = (): void => {
          // The frame after the render: its layout and paint are included.
          requestAnimationFrame(() => {
            const channel = new MessageChannel();
            channel.port1.onmessage = () => {
              const ms = performance.now() - t0;
              const box = document.querySelector(`[data-id="${last}"]`)!.getBoundingClientRect();
              const log = document.querySelector('.timeline')!.getBoundingClientRect();
              resolve({ ms, visible: box.bottom <= log.bottom + 1 && box.top >= log.top - 1, rowsInDom: document.querySelectorAll('.timeline .row').length });
            };
            channel.port2.postMessage(null);
          });
        };
        const observer = new MutationObserver(() => {
          if (document.querySelector(`[data-id="${last}"]`)) {
            observer.disconnect();
            done();
          }
        });
        observer.observe(document.body, { childList: true, subtree: true });
        window.postMessage({ type: 'conversation/opened', key: 'general', title: 'general', direct: false, timeline: window.__perfItems, members, typing: [] }, '*');
      }),
    { last: `m${MESSAGES - 1}`, members: GENERAL_MEMBERS },
  );
  assert.ok(open.visible, 'the latest message is on screen after opening');
  assert.ok(open.rowsInDom < 300, `windowed: ${open.rowsInDom} rows in the DOM for ${MESSAGES} messages`);
  const openLongTasks = await page.evaluate(() => window.__longTasks.splice(0).map((x) => x.duration));

  // ---- scroll: page-sized steps up, jumps to the top, then wheel input down ----------------------
  const scroll = await page.evaluate(
    async ({ pageSteps, jumps }) => {
      const el = document.querySelector<HTMLElement>('.timeline')!;
      const frame = () => new Promise<number>((r) => requestAnimationFrame(r));
      let blank = 0;
      let steps = 0;
      let worstFrame = 0;
      const covered = (): boolean => {
        const box = el.getBoundingClientRect();
        for (const y of [box.top + 2, box.top + box.height / 2, box.bottom - 6]) {
          if (!document.elementFromPoint(box.left + box.width / 2, y)?.closest('.row')) return false;
        }
        return true;
      };
      const step = async (top: number): Promise<void> => {
        const before = performance.now();
        el.scrollTop = top;
        await frame();
        await frame();
        worstFrame = Math.max(worstFrame, (performance.now() - before) / 2);
        if (!covered()) blank++;
        steps++;
      };
      for (let i = 0; i < pageSteps && el.scrollTop > 0; i++) await step(Math.max(0, el.scrollTop - el.clientHeight * 0.9));
      const from = el.scrollTop;
      for (let i = 1; i <= jumps; i++) await step(Math.round(from * (1 - i / jumps)));
      return { steps, blank, worstFrame, atTop: el.scrollTop === 0 && document.querySelector('[data-id="m0"]') !== null };
    },
    { pageSteps: PAGE_STEPS, jumps: JUMPS },
  );
  assert.ok(scroll.atTop, 'scrolled all the way to the first message');
  await page.mouse.move(200, 750);
  let wheelBlank = 0;
  for (let i = 0; i < WHEEL_STEPS; i++) {
    await page.mouse.wheel(0, WHEEL_PX);
    const covered = await page.evaluate(
      () =>
        new Promise<boolean>((resolve) =>
          requestAnimationFrame(() =>
            requestAnimationFrame(() => {
              const box = document.querySelector('.timeline')!.getBoundingClientRect();
              resolve(document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2)?.closest('.row') !== null);
            }),
          ),
        ),
    );
    if (!covered) wheelBlank++;
  }
  const scrollLongTasks = await page.evaluate(() => window.__longTasks.splice(0).map((x) => x.duration));
  // The observer works: a deliberate 80 ms task is reported (so "none" above means none).
  const calibrated = await page.evaluate(
    () =>
      new Promise<boolean>((resolve) => {
        setTimeout(() => {
          const end = performance.now() + 80;
          while (performance.now() < end);
        }, 0);
        setTimeout(() => {
          const seen = window.__longTasks.some((x) => x.duration >= 75);
          window.__longTasks.length = 0;
          resolve(seen);
        }, 200);
      }),
  );
  assert.ok(calibrated, 'the long-task observer saw a deliberate 80 ms task');

  // ---- new messages at the bottom --------------------------------------------------------------
  await page.getByRole('button', { name: 'Jump to the latest message' }).click();
  await page.waitForFunction(
    (last) => {
      const log = document.querySelector('.timeline')!;
      return document.querySelector(`[data-id="${last}"]`) !== null && log.scrollHeight - log.scrollTop - log.clientHeight <= 4;
    },
    `m${MESSAGES - 1}`,
    { timeout: WAIT_MS },
  );
  const arrivals = await page.evaluate(
    async ({ count, base }) => {
      const log = document.querySelector('.timeline')!;
      const samples: number[] = [];
      let t = base;
      for (let i = 0; i < count; i++) {
        const id = `new${i}`;
        t += i % 4 === 0 ? 6 * 60_000 : 5_000;
        const text = i % 5 === 0 ? `a **new** message with \`code\` and a link https://example.com/${i}` : `new message ${i}`;
        const item = { kind: 'message', id, from: i % 3 === 0 ? 'bob' : 'carol', text, sentAt: t, mine: false, mentionsMe: false };
        const ms = await new Promise<number>((resolve) => {
          let t0 = 0;
          const observer = new MutationObserver(() => {
            if (document.querySelector(`[data-id="${id}"]`)) {
              const dt = performance.now() - t0;
              observer.disconnect();
              resolve(dt);
            }
          });
          observer.observe(log, { childList: true, subtree: true });
          t0 = performance.now();
          window.postMessage({ type: 'timeline/added', key: 'general', item }, '*');
        });
        samples.push(ms);
        // Let the frame run (auto-scroll, measuring) before the next message, as in real use.
        await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
      }
      const node = document.querySelector(`[data-id="new${count - 1}"]`)!.getBoundingClientRect();
      const box = log.getBoundingClientRect();
      return { samples, followed: node.bottom <= box.bottom + 1 && node.bottom > box.top };
    },
    { count: NEW_MESSAGES, base: Date.now() },
  );
  assert.ok(arrivals.followed, 'at the bottom, the view follows new messages');
  const arrivalLongTasks = await page.evaluate(() => window.__longTasks.splice(0).map((x) => x.duration));
  view.assertClean();
  await view.context.close();
  return {
    openMs: open.ms,
    rowsInDom: open.rowsInDom,
    openLongTasks,
    scrollSteps: scroll.steps + WHEEL_STEPS,
    scrollLongTasks,
    blankFrames: scroll.blank + wheelBlank,
    worstFrameMs: scroll.worstFrame,
    arrivals: arrivals.samples,
    arrivalLongTasks,
    loadBefore,
    loadAfter: loadAverage(),
  };
}

function rows(run: Run): ReportRow[] {
  const longScroll = run.scrollLongTasks.filter((d) => d > LONG_TASK_BUDGET_MS);
  return [
    { metric: 'open: conversation/opened to the frame after the latest message', value: run.openMs, unit: 'ms', note: `budget ${OPEN_BUDGET_MS} ms` },
    { metric: 'open: rows in the DOM', value: run.rowsInDom, unit: 'rows', note: `of ${MESSAGES} messages (windowed)` },
    { metric: 'open: long tasks (not budgeted)', value: run.openLongTasks.length, unit: 'tasks', note: run.openLongTasks.length ? `longest ${Math.max(...run.openLongTasks).toFixed(0)} ms` : '' },
    { metric: 'scroll: steps', value: run.scrollSteps, unit: 'steps', note: `${PAGE_STEPS} page-ups, ${JUMPS} jumps to the top, ${WHEEL_STEPS} wheel ×${WHEEL_PX} px` },
    { metric: 'scroll: long tasks > 50 ms', value: longScroll.length, unit: 'tasks', note: 'budget 0' },
    { metric: 'scroll: longest task (long-task API)', value: Math.max(0, ...run.scrollLongTasks), unit: 'ms', note: run.scrollLongTasks.length ? '' : 'no task reached 50 ms' },
    { metric: 'scroll: worst frame (programmatic steps)', value: run.worstFrameMs, unit: 'ms' },
    { metric: 'scroll: frames with blank space in view', value: run.blankFrames, unit: 'frames' },
    { metric: 'new message: dispatch to node in DOM, p50', value: percentile(run.arrivals, 50), unit: 'ms' },
    { metric: 'new message: dispatch to node in DOM, p99', value: percentile(run.arrivals, 99), unit: 'ms', note: `budget ${NEW_MESSAGE_P99_BUDGET_MS} ms` },
    { metric: 'new message: max', value: Math.max(...run.arrivals), unit: 'ms', note: `${NEW_MESSAGES} messages` },
    { metric: 'new messages: long tasks (not budgeted)', value: run.arrivalLongTasks.length, unit: 'tasks' },
    { metric: 'machine load average (1 min) before / after', value: `${run.loadBefore} / ${run.loadAfter}`, unit: '', note: `${cpus().length} CPUs` },
  ];
}

describe('webview: timeline performance', () => {
  const harness = useHarness();

  test('10,000 messages: open < 300 ms, scroll without long tasks > 50 ms, new message < 16 ms p99', async (t) => {
    const runs: Run[] = [];
    const problems: string[][] = [];
    for (let i = 0; i < ATTEMPTS; i++) {
      const run = await measure(harness(), t);
      runs.push(run);
      problems.push(failures(run));
      if (problems[i]!.length === 0) break;
    }
    const best = runs.findIndex((_, i) => problems[i]!.length === 0);
    const shown = best === -1 ? runs.length - 1 : best;
    const run = runs[shown]!;
    report(
      `Webview timeline, ${MESSAGES.toLocaleString('en-US')} messages (headless Chromium ${harness().browser.version()}, 400×900)`,
      rows(run),
      'bench-results/webview-perf.json',
      {
        meta: {
          chromium: harness().browser.version(),
          viewport: '400x900',
          messages: MESSAGES,
          newMessages: NEW_MESSAGES,
          budgets: { openMs: OPEN_BUDGET_MS, longTaskMs: LONG_TASK_BUDGET_MS, newMessageP99Ms: NEW_MESSAGE_P99_BUDGET_MS },
          attempts: runs.map((r, i) => ({ ...r, failures: problems[i] })),
        },
        notes: [
          `run ${shown + 1} of ${runs.length} shown${runs.length > 1 ? ' (earlier runs missed a budget; all are in meta.attempts)' : ''}`,
          'measured in the page: performance.now(), PerformanceObserver longtask, MutationObserver; dist/webview.js as built',
        ],
      },
    );
    assert.deepEqual(problems[shown], [], `no run of ${runs.length} met every budget; the last one:`);
  });
});
