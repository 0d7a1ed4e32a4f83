// The open conversation's messages, windowed: only the rows in view plus an overscan margin are
// in the DOM, between two spacers whose heights stand for the rest. Row heights are estimated
// from text length until a row has been on screen once, then measured (ResizeObserver) and
// remembered. That keeps a 10,000-message conversation opening and scrolling as fast as a short
// one (the issue asks < 300 ms to open, no task > 50 ms while scrolling, < 16 ms per new message).
//
// Scroll position: at the bottom, the view stays at the bottom as messages arrive ("sticky").
// Elsewhere, when a row above the first visible one turns out taller or shorter than estimated,
// scrollTop moves by the difference, so what is on screen does not jump. (The browser's own
// scroll anchoring is off: it would correct the same shift a second time.) The same holds when
// rows change above it: an older page put in front, a late message inserted, the loading row gone.
//
// History: scrolled near the top while older pages exist, it asks for the next one (actions.ts
// loadPage); back at the bottom, it lets far older pages go (actions.ts trimOlder). After a jump
// back to a message (a window away from the newest, `open.newer`), it never sticks to the bottom:
// near it, it asks for the next newer page (actions.ts loadPage), and "Latest" reopens the newest.
//
// Keyboard: the timeline is ONE Tab stop (webview/timeline-keys.ts): Up and Down move through its
// messages, notices and the links and buttons in them (Enter follows a link); Home and End scroll
// to the ends; Tab leaves.
//
// Revealing a message (a quote followed, a search result, `message/revealed`): once its row is
// held, it is scrolled a third of the way down, focused and marked (conversation-actions.ts loads
// older pages until then). "Jump to first unread" shows while the "New messages" line is above.

import { Component, createRef } from 'preact';
import type { Row } from '../rows.ts';
import { actions, showsNewest } from '../actions.ts';
import { messageActions } from '../conversation-actions.ts';
import { model } from '../state.ts';
import { estimateRow } from '../row-estimate.ts';
import { RowLayout } from '../row-layout.ts';
import { moveInTimeline, untab } from '../timeline-keys.ts';
import { Icon } from './icon.tsx';
import { TimelineRow } from './timeline-rows.tsx';

/** Rendered beyond each edge of the viewport, so fast scrolling does not show blank space. */
const OVERSCAN_PX = 600;
/** Within this distance of the bottom counts as "at the bottom". */
const BOTTOM_SLACK_PX = 4;
/** Closer than this to the top asks for the older page, so it is usually there before the top is. */
const LOAD_AHEAD_PX = 400;
interface Range {
  start: number;
  end: number;
}

export class Timeline extends Component<{ label: string }, { atBottom: boolean; unreadAbove: boolean }> {
  override state = { atBottom: true, unreadAbove: false };
  private readonly scroller = createRef<HTMLDivElement>();
  /** Heights measured on screen, by row key: they outlive the rows (a conversation reopened). */
  private readonly measured = new Map<string, number>();
  /** Row heights and tops (webview/row-layout.ts). */
  private readonly layout = new RowLayout();
  private range: Range = { start: 0, end: 0 };
  private scrollTop = 0;
  private viewHeight = 0;
  private width = 0;
  private stick = true;
  /**
   * After a jump (scrollbar drag, End, a far scrollTop) nothing rendered is reusable: render just
   * the viewport in this frame and the overscan in a task of its own, so neither is a long task.
   */
  private lean = false;
  private widenTimer: ReturnType<typeof setTimeout> | undefined;
  private conversation: string | undefined;
  private rowObserver?: ResizeObserver;
  private viewObserver?: ResizeObserver;
  private tabObserver?: MutationObserver;
  private readonly observed = new Set<Element>();

  /** A message row to focus after this render (revealed, or the first unread jumped to). */
  private focusId: string | undefined;
  /** The message revealed by this render: actions.ts is told once it is on screen. */
  private revealedId: string | undefined;

  /** For the composer's Escape: keyboard focus goes back to the timeline. */
  focus(): void {
    this.scroller.current?.focus();
  }

  private readonly onKeyDown = (e: KeyboardEvent): void => moveInTimeline(e, this.scroller.current);

  override componentDidMount(): void {
    const el = this.scroller.current!;
    this.viewHeight = el.clientHeight;
    this.width = el.clientWidth;
    this.rowObserver = new ResizeObserver((entries) => this.onRowsResized(entries));
    this.viewObserver = new ResizeObserver(() => this.onViewResized());
    this.viewObserver.observe(el);
    // Rows also render on their own (a delivery tick, a link in new text): keep them out of the Tab order too.
    this.tabObserver = new MutationObserver(() => untab(el));
    this.tabObserver.observe(el, { childList: true, subtree: true });
    this.afterRender();
    // The first render used a guessed viewport height; render again with the real one.
    this.forceUpdate();
  }

  override componentDidUpdate(): void {
    this.afterRender();
  }

  override componentWillUnmount(): void {
    clearTimeout(this.widenTimer);
    this.rowObserver?.disconnect();
    this.viewObserver?.disconnect();
    this.tabObserver?.disconnect();
    this.observed.clear();
  }

  private readonly heightOf = (row: Row): number => {
    return this.measured.get(row.key) ?? estimateRow(row, this.width);
  };

  private computeRange(): Range {
    const n = this.layout.rows.length;
    const offsets = this.layout.offsets;
    const view = this.viewHeight || 800;
    if (this.stick) {
      const top = offsets[n]! - view - OVERSCAN_PX;
      return { start: top <= 0 ? 0 : Math.min(n, this.layout.indexAt(top, n)), end: n };
    }
    const overscan = this.lean ? 0 : OVERSCAN_PX;
    const start = Math.min(n, this.layout.indexAt(Math.max(0, this.scrollTop - overscan), n));
    const end = Math.min(n, this.layout.indexAt(this.scrollTop + view + overscan, n) + 1);
    return { start, end: Math.max(start, end) };
  }

  private readonly onScroll = (): void => {
    const el = this.scroller.current!;
    // Moved by the user, not by this component: what is read now is what they scrolled to.
    if (Math.abs(el.scrollTop - this.scrollTop) > 1) this.pin = undefined;
    this.scrollTop = el.scrollTop;
    this.viewHeight = el.clientHeight;
    this.stick = !model.open.value?.newer && el.scrollHeight - el.scrollTop - el.clientHeight <= BOTTOM_SLACK_PX;
    const next = this.computeRange();
    if (next.start !== this.range.start || next.end !== this.range.end) {
      if (!this.stick && (next.start >= this.range.end || next.end <= this.range.start)) {
        this.lean = true;
        clearTimeout(this.widenTimer);
        this.widenTimer = setTimeout(() => {
          this.lean = false;
          this.forceUpdate();
        }, 0);
      }
      this.forceUpdate();
    }
    if (this.stick !== this.state.atBottom) this.setState({ atBottom: this.stick });
    this.updateUnreadAbove();
    this.loadIfNear();
    this.tellAtNewest();
  };

  /** Tells the host whether the newest messages are on screen: the bottom of the newest page (read marks and receipts wait for it). */
  private tellAtNewest(): void {
    const key = model.openKey.value;
    if (key !== undefined) showsNewest(key, this.stick && !model.open.value?.newer);
  }

  /** The index of the "New messages" line, or -1. */
  private unreadIndex(): number {
    const rows = this.layout.rows;
    // Looked up once per rows (scrolling asks on every event).
    if (this.unreadAt.rows !== rows) this.unreadAt = { rows, index: rows.findIndex((r) => r.kind === 'unread') };
    return this.unreadAt.index;
  }

  private unreadAt: { rows: Row[] | undefined; index: number } = { rows: undefined, index: -1 };

  /** Shows "Jump to first unread" while the "New messages" line is above the viewport. */
  private updateUnreadAbove(): void {
    const i = this.unreadIndex();
    const above = i >= 0 && this.layout.offsets[i + 1]! <= this.scrollTop;
    if (above !== this.state.unreadAbove) this.setState({ unreadAbove: above });
  }

  /**
   * Scrolls so row `index` is in view: its top at the viewport's top, or a third of the way down
   * (a revealed message, with what led to it above). Stops following the bottom; the row is
   * pinned while rows above it are measured.
   */
  private scrollToRow(index: number, place: 'top' | 'third'): void {
    const view = this.viewHeight || 800;
    const top = place === 'top' ? this.layout.offsets[index]! : this.layout.offsets[index]! - (view - this.layout.heights[index]!) / 3;
    const max = Math.max(0, this.layout.offsets[this.layout.rows.length]! - view);
    this.stick = false;
    this.scrollTop = this.keepAt = Math.min(max, Math.max(0, top));
    this.pin = { key: this.layout.rows[index]!.key, index };
  }

  private readonly jumpToUnread = (): void => {
    const i = this.unreadIndex();
    const next = this.layout.rows[i + 1];
    if (i < 0) return;
    this.scrollToRow(i, 'top');
    if (next?.kind === 'message') this.focusId = next.item.id;
    this.setState({ atBottom: false, unreadAbove: false });
    this.forceUpdate();
  };

  /** Near the top with older pages to come, or the end with newer ones: ask for the next (actions.ts sends one at a time). */
  private loadIfNear(): void {
    const rows = this.layout.rows;
    if (rows[0]?.kind === 'older' && this.scrollTop < LOAD_AHEAD_PX) actions.loadPage('older');
    const end = this.layout.offsets[rows.length]!;
    if (rows[rows.length - 1]?.kind === 'newer' && end - this.scrollTop - (this.viewHeight || 800) < LOAD_AHEAD_PX) actions.loadPage('newer');
  }

  /**
   * The first row at or below scrollTop that is a message or notice (day keys move; the loading
   * row stays first while a page goes in above what is read), and how far into it the view starts.
   */
  private anchor(): { key: string; index: number; delta: number } | undefined {
    const n = this.layout.rows.length;
    if (!n) return undefined;
    for (let i = this.layout.indexAt(this.scrollTop, n); i < n; i++) {
      const row = this.layout.rows[i]!;
      if (row.kind !== 'day' && row.kind !== 'older' && row.kind !== 'newer') return { key: row.key, index: i, delta: this.scrollTop - this.layout.offsets[i]! };
    }
    return undefined;
  }

  private readonly jumpToBottom = (): void => {
    // Away from the newest: the host sends the newest window, shown from its bottom (render).
    actions.jumpToNewest();
    this.stick = true;
    this.setState({ atBottom: true });
    this.forceUpdate();
  };

  private onViewResized(): void {
    const el = this.scroller.current;
    if (!el) return;
    const width = el.clientWidth;
    this.viewHeight = el.clientHeight;
    if (Math.abs(width - this.width) > 1) {
      // Text wraps differently now: every remembered height is stale.
      this.width = width;
      this.measured.clear();
      this.layout.rows = [];
    }
    this.forceUpdate();
  }

  private onRowsResized(entries: ResizeObserverEntry[]): void {
    const el = this.scroller.current;
    if (!el) return;
    const rows = this.layout.rows;
    // Rows above the first one in view (or the pinned one) shift it when their height changes.
    const pinned = this.pin && rows[this.pin.index]?.key === this.pin.key ? this.pin.index : undefined;
    const anchor = pinned ?? this.layout.indexAt(el.scrollTop, rows.length);
    let shift = 0;
    let first = Number.POSITIVE_INFINITY;
    for (const entry of entries) {
      const target = entry.target as HTMLElement;
      if (!target.isConnected) continue;
      const index = Number(target.dataset.index);
      const row = rows[index];
      if (!row || row.key !== target.dataset.key) continue;
      const height = entry.borderBoxSize?.[0]?.blockSize ?? target.getBoundingClientRect().height;
      this.measured.set(row.key, height);
      const before = this.layout.heights[index]!;
      if (Math.abs(height - before) < 0.5) continue;
      this.layout.heights[index] = height;
      first = Math.min(first, index);
      if (index < anchor) shift += height - before;
    }
    if (first === Number.POSITIVE_INFINITY) return;
    // Row `first` changed height: its own top holds, every top after it moves.
    this.layout.staleFrom = Math.min(this.layout.staleFrom, first);
    this.layout.sync(this.layout.rows, this.heightOf);
    if (!this.stick && shift !== 0) {
      el.scrollTop += shift;
      this.scrollTop = el.scrollTop;
    }
    this.forceUpdate();
  }

  private afterRender(): void {
    const el = this.scroller.current;
    if (!el || !this.rowObserver) return;
    untab(el);
    for (const child of Array.from(el.children)) {
      if ((child as HTMLElement).dataset.index !== undefined && !this.observed.has(child)) {
        this.observed.add(child);
        this.rowObserver.observe(child);
      }
    }
    for (const child of this.observed) {
      if (!child.isConnected) {
        this.rowObserver.unobserve(child);
        this.observed.delete(child);
      }
    }
    if (this.stick) {
      const bottom = el.scrollHeight - el.clientHeight;
      if (el.scrollTop < bottom - 1) el.scrollTop = bottom;
      this.scrollTop = el.scrollTop;
      actions.trimOlder();
    } else if (this.keepAt !== undefined && Math.abs(el.scrollTop - this.keepAt) > 0.5) {
      el.scrollTop = this.keepAt;
      this.scrollTop = el.scrollTop;
    }
    this.keepAt = undefined;
    const focusId = this.focusId;
    const revealed = this.revealedId;
    this.focusId = this.revealedId = undefined;
    if (focusId !== undefined) {
      for (const row of Array.from(el.querySelectorAll<HTMLElement>('.row.message'))) if (row.dataset.id === focusId) row.focus({ preventScroll: true });
    }
    if (revealed !== undefined) {
      if (this.state.atBottom) this.setState({ atBottom: false });
      messageActions.revealed(revealed);
    }
    this.updateUnreadAbove();
    this.loadIfNear();
    if (model.toNewest.value !== undefined && model.toNewest.value === model.openKey.value && !model.open.value?.newer) actions.atNewest();
    this.tellAtNewest();
  }

  /** Where scrollTop must be after this render, so the row in view stays where it was. */
  private keepAt: number | undefined;
  /** The row kept in place after rows came in above it, until the user scrolls. */
  private pin: { key: string; index: number } | undefined;

  override render() {
    const key = model.openKey.value;
    const rows = model.rows.value;
    const me = model.me.value;
    if (key !== this.conversation) {
      // Another conversation: start at its latest message.
      this.conversation = key;
      this.stick = true;
    }
    // Away from the newest (a jump back): rows come in at the end as pages, not to be followed.
    const detached = model.open.value?.newer === true;
    if (detached) this.stick = false;
    else if (model.toNewest.value === key) this.stick = true;
    const previousLast = this.layout.rows[this.layout.rows.length - 1];
    // Rows may change above the one in view (a page in front, a late message): keep it in place.
    const anchor = rows !== this.layout.rows && !this.stick && key === this.conversation ? this.anchor() : undefined;
    this.layout.sync(rows, this.heightOf);
    if (anchor) {
      // Usually still at its index (a message appended, a receipt); else look it up.
      const at = rows[anchor.index]?.key === anchor.key ? anchor.index : rows.findIndex((r) => r.key === anchor.key);
      const top = at >= 0 ? this.layout.offsets[at]! + anchor.delta : this.scrollTop;
      if (Math.abs(top - this.scrollTop) > 0.5) {
        this.scrollTop = this.keepAt = top;
        // The rows that came in above are measured next: they must not move this one either.
        if (at >= 0) this.pin = { key: anchor.key, index: at };
      }
    }
    const last = rows[rows.length - 1];
    // My own new message brings me back to the bottom, wherever I was reading.
    if (previousLast && last && last.key !== previousLast.key && last.kind === 'message' && last.item.mine) this.stick = true;
    // A message to reveal (a quote followed, a search result): once held, scroll to it and focus it.
    const reveal = model.reveal.value;
    if (reveal && reveal.key === key && this.revealedId !== reveal.id) {
      const at = rows.findIndex((r) => r.kind === 'message' && r.item.id === reveal.id);
      if (at >= 0) {
        this.scrollToRow(at, 'third');
        this.revealedId = this.focusId = reveal.id;
      }
    }
    const seen = model.seen.value;
    const marked = model.marked.value;
    const range = (this.range = this.computeRange());
    const offsets = this.layout.offsets;
    const children = [];
    for (let i = range.start; i < range.end; i++) {
      const row = rows[i]!;
      const id = row.kind === 'message' ? row.item.id : undefined;
      children.push(<TimelineRow key={row.key} row={row} index={i} me={me} seen={id === undefined ? undefined : seen.get(id)} marked={id !== undefined && id === marked} />);
    }
    const atBottom = !detached && (this.state.atBottom || this.stick);
    return (
      <div class="timeline-wrap">
        <div
          ref={this.scroller}
          class="timeline"
          role="log"
          aria-live="polite"
          aria-relevant="additions"
          aria-label={this.props.label}
          tabIndex={0}
          onScroll={this.onScroll}
          onKeyDown={this.onKeyDown}
        >
          <div key="top" class="spacer" style={{ height: `${offsets[range.start]}px` }} aria-hidden="true" />
          {children}
          <div key="bottom" class="spacer" style={{ height: `${offsets[rows.length]! - offsets[range.end]!}px` }} aria-hidden="true" />
          {rows.length === 0 && <p class="empty muted">No messages yet. Say hello.</p>}
        </div>
        {this.state.unreadAbove && (
          <button type="button" class="jump-to-unread secondary small" onClick={this.jumpToUnread}>
            <Icon name="arrow-up" /> Jump to first unread
          </button>
        )}
        {!atBottom && (
          <button type="button" class="jump-to-bottom secondary small" onClick={this.jumpToBottom} aria-label="Jump to the latest message">
            <Icon name="arrow-down" /> Latest
          </button>
        )}
      </div>
    );
  }
}
