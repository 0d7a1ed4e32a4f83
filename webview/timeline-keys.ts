// The timeline is ONE Tab stop (links and buttons in messages are not, or the composer would be
// dozens of Tabs away). Focused, Up and Down move through its messages, notices and the links and
// buttons in them; a message's own keys and toolbar are message-row.tsx's.

/** What can take the focus inside the timeline: all of it kept out of the Tab order. */
const FOCUSABLE = 'a[href], button, input, textarea, select, [tabindex]:not([tabindex="-1"]), .row.message, .row.notice';
/** Where Up and Down go: messages, notices, and the links and buttons in them (not a message's toolbar), in page order. */
const STOPS = '.row.message, .row.notice, .row a[href], .row button:not(.message-action)';

/** Takes every focusable element inside `root` out of the Tab order (arrow keys reach them instead). */
export function untab(root: ParentNode): void {
  // The attribute, not the property: a div's tabIndex property reads -1 without one.
  for (const el of Array.from(root.querySelectorAll<HTMLElement>(FOCUSABLE))) if (el.getAttribute('tabindex') !== '-1') el.setAttribute('tabindex', '-1');
}

/** Up or Down in the timeline `el`: the focus moves to the next or previous stop (the first or last in view from the timeline itself). */
export function moveInTimeline(e: KeyboardEvent, el: HTMLElement | null): void {
  if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
  if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
  // Arrows typed into a field inside a row (an edit, the react picker) move its caret.
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement) return;
  if (!el) return;
  const stops = Array.from(el.querySelectorAll<HTMLElement>(STOPS));
  if (!stops.length) return;
  const down = e.key === 'ArrowDown';
  const at = stops.indexOf(document.activeElement as HTMLElement);
  let next: HTMLElement | undefined;
  if (at === -1) {
    const box = el.getBoundingClientRect();
    const inView = stops.filter((s) => {
      const r = s.getBoundingClientRect();
      return r.bottom > box.top && r.top < box.bottom;
    });
    next = down ? inView[0] : inView[inView.length - 1];
  } else next = stops[at + (down ? 1 : -1)];
  if (!next) return;
  e.preventDefault();
  next.focus({ preventScroll: true });
  next.scrollIntoView({ block: 'nearest' });
}
