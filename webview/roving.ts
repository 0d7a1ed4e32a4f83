// Each list in the sidebar (Rooms, Direct messages, People, Directory) is ONE Tab stop, as VS
// Code's own lists are: Tab enters it at the item last used (else the first), Up and Down move
// between its items, Home and End go to either end, Tab leaves it. Without this, every
// conversation, person and Join button was a Tab stop on the way to the composer.

/** The lists made roving: `ul.list` inside the sidebar's lists. */
const LISTS = '.lists ul.list';

/**
 * A list's items: each row's own button (a conversation, a person, a room's Join). A form opened
 * in a row (a private room's password) is not an item: its fields keep their Tab stops.
 */
function items(list: Element): HTMLElement[] {
  const out: HTMLElement[] = [];
  for (const li of Array.from(list.children)) {
    const button = li.querySelector<HTMLElement>(':scope > button.list-item:not([disabled]), :scope > .directory-row > button:not([disabled])');
    if (button) out.push(button);
  }
  return out;
}

/** Exactly one item of each list is in the Tab order: the one focused last, else the first. */
export function rove(root: ParentNode): void {
  for (const list of Array.from(root.querySelectorAll(LISTS))) {
    const all = items(list);
    const current = all.find((b) => b.getAttribute('tabindex') === '0') ?? all[0];
    for (const b of all) {
      const want = b === current ? '0' : '-1';
      if (b.getAttribute('tabindex') !== want) b.setAttribute('tabindex', want);
    }
  }
}

function onKeyDown(e: KeyboardEvent): void {
  if (e.altKey || e.ctrlKey || e.metaKey || e.shiftKey) return;
  if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp' && e.key !== 'Home' && e.key !== 'End') return;
  const target = e.target as HTMLElement | null;
  const list = target?.closest(LISTS);
  if (!list || !target) return;
  const all = items(list);
  const at = all.indexOf(target);
  if (at === -1) return;
  const next = e.key === 'Home' ? all[0] : e.key === 'End' ? all[all.length - 1] : all[at + (e.key === 'ArrowDown' ? 1 : -1)];
  e.preventDefault();
  if (next) move(all, next);
}

function onFocusIn(e: FocusEvent): void {
  const target = e.target as HTMLElement | null;
  const list = target?.closest(LISTS);
  if (list && target) {
    const all = items(list);
    if (all.includes(target)) move(all, target, false);
  }
}

function move(all: HTMLElement[], next: HTMLElement, focus = true): void {
  for (const b of all) b.setAttribute('tabindex', b === next ? '0' : '-1');
  if (focus) next.focus();
}

/** Installs roving focus on the page's lists; returns its removal. */
export function installRoving(doc: Document = document): () => void {
  rove(doc);
  const observer = new MutationObserver((records) => {
    // Only changes inside the sidebar's lists matter (the timeline changes far more often).
    if (records.some((r) => r.target instanceof Element && (r.target.closest('.lists') || r.target.querySelector?.('.lists')))) rove(doc);
  });
  observer.observe(doc.body, { childList: true, subtree: true });
  doc.addEventListener('keydown', onKeyDown);
  doc.addEventListener('focusin', onFocusIn);
  return () => {
    observer.disconnect();
    doc.removeEventListener('keydown', onKeyDown);
    doc.removeEventListener('focusin', onFocusIn);
  };
}
