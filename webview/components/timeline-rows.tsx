// One row of the timeline: a day separator, a message (the first of a group shows sender and
// time; a late one is marked; see message-row.tsx), a notice, the "New messages" line, or the row
// that loads older messages. Each row is its own element with data-index/data-key so the timeline can
// measure it; rows re-render only when their own item changes.

import { Component } from 'preact';
import { visibleLines } from '../../protocol/text.ts';
import { formatFull, formatTime, type Row } from '../rows.ts';
import { Icon } from './icon.tsx';
import { MessageRow } from './message-row.tsx';
import { PageRow } from './page-row.tsx';

interface RowProps {
  row: Row;
  index: number;
  me: string | undefined;
  /** A message row: the members it is the newest read message of mine for ("Seen by"). */
  seen?: readonly string[] | undefined;
  /** A message row: just revealed (a quote followed, a search result), marked for a moment. */
  marked?: boolean;
}

export class TimelineRow extends Component<RowProps> {
  override shouldComponentUpdate(next: RowProps): boolean {
    const a = this.props.row;
    const b = next.row;
    if (next.index !== this.props.index || next.me !== this.props.me || a.key !== b.key || a.kind !== b.kind) return true;
    if (next.marked !== this.props.marked || (next.seen ?? []).join('\n') !== (this.props.seen ?? []).join('\n')) return true;
    if (a.kind === 'day') return a.label !== (b as typeof a).label;
    if (a.kind === 'older' || a.kind === 'newer' || a.kind === 'unread') return false;
    if (a.kind === 'message') return a.item !== (b as typeof a).item || a.head !== (b as typeof a).head;
    return a.item !== (b as typeof a).item;
  }

  override render({ row, index, me, seen, marked }: RowProps) {
    switch (row.kind) {
      case 'day':
        return (
          <div class="row day" data-key={row.key} data-index={index} role="separator" aria-label={row.label}>
            <span class="day-label">{row.label}</span>
          </div>
        );
      case 'notice': {
        const n = row.item;
        return (
          <div class={`row notice notice-${n.level}`} data-key={row.key} data-index={index} data-id={n.id}>
            <Icon name={n.level === 'warning' ? 'warning' : 'info'} />
            {n.level === 'warning' && <span class="sr-only">Warning: </span>}
            <span class="notice-text">{visibleLines(n.text)}</span>
            <time class="notice-time" dateTime={new Date(n.time).toISOString()} title={formatFull(n.time)}>
              {formatTime(n.time)}
            </time>
          </div>
        );
      }
      case 'message':
        return <MessageRow row={row} index={index} me={me} seen={seen} marked={marked} />;
      case 'unread':
        return (
          <div class="row unread" data-key={row.key} data-index={index} role="separator" aria-label="New messages">
            <span class="unread-label">New messages</span>
          </div>
        );
      case 'older':
      case 'newer':
        return <PageRow dir={row.kind} index={index} rowKey={row.key} />;
    }
  }
}
