// One row of the timeline: a day separator, a message (the first of a group shows sender and
// time; a late one is marked), a notice, or the row that loads older messages. Each row is its own element with data-index/data-key so the timeline can
// measure it; rows re-render only when their own item changes.

import { Component } from 'preact';
import { visible, visibleLines } from '../../protocol/text.ts';
import { VIEW_LIMITS, type Snippet } from '../../protocol/view.ts';
import { renderMarkdown } from '../markdown.tsx';
import { formatFull, formatTime, type Row } from '../rows.ts';
import { actions } from '../actions.ts';
import { DeliveryState, LateMark } from './delivery-state.tsx';
import { Icon } from './icon.tsx';
import { OlderRow } from './older-row.tsx';

interface RowProps {
  row: Row;
  index: number;
  me: string | undefined;
}

/** A line number from a peer, as shown and asked for: a whole number from 1 to VIEW_LIMITS.snippetLine. */
function lineNumber(n: number): number {
  return Number.isSafeInteger(n) ? Math.min(Math.max(1, n), VIEW_LIMITS.snippetLine) : 1;
}

/** A language id from a peer is a label only: a short word, else "text". */
function languageLabel(id: string): string {
  return /^[A-Za-z0-9_.+#-]{1,32}$/.test(id) ? id : 'text';
}

/**
 * The snippet's header: the file's name and lines first (the link), its language as a label that
 * never wraps, and below them the WHOLE path the link opens (relative to a workspace folder, made
 * visible, wrapped rather than cut: a cut path could hide where the link leads), which the
 * tooltip and accessible name say too. Whether the path may be opened is the host's decision
 * (extension/snippet-path.ts), with a notice if not.
 */
function SnippetView({ snippet }: { snippet: Snippet }) {
  const start = lineNumber(snippet.startLine);
  const end = Math.max(start, lineNumber(snippet.endLine));
  const lines = end > start ? `lines ${start}–${end}` : `line ${start}`;
  const path = visible(snippet.path);
  const slash = path.lastIndexOf('/');
  const file = slash >= 0 && slash < path.length - 1 ? path.slice(slash + 1) : path;
  const label = `Open ${path} at ${lines}, in your workspace`;
  const language = languageLabel(snippet.language);
  return (
    <figure class="snippet">
      <figcaption class="snippet-header">
        <a
          href="#"
          class="snippet-link"
          title={label}
          aria-label={label}
          onClick={(e) => {
            e.preventDefault();
            actions.openSnippet(snippet.path, start, end);
          }}
        >
          <span class="snippet-title">
            <span class="snippet-file">{file}</span>
            <span class="snippet-line">:{end > start ? `${start}–${end}` : start}</span>
          </span>
          {file !== path && <span class="snippet-path">{path}</span>}
        </a>
        <span class="snippet-lang">{language}</span>
      </figcaption>
      <pre class="snippet-code" data-lang={language}>
        <code>{visibleLines(snippet.code)}</code>
      </pre>
    </figure>
  );
}

function MessageRow({ row, index, me }: RowProps & { row: Extract<Row, { kind: 'message' }> }) {
  const m = row.item;
  const cls = `row message${row.head ? ' head' : ''}${m.mine ? ' mine' : ''}${m.mentionsMe ? ' mentions-me' : ''}${m.late ? ' late' : ''}`;
  return (
    <div class={cls} data-key={row.key} data-index={index} data-id={m.id} data-from={m.from}>
      {row.head ? (
        <div class="message-meta">
          <span class="sender">{visible(m.from)}</span>
          <time dateTime={new Date(m.sentAt).toISOString()} title={formatFull(m.sentAt)}>
            {formatTime(m.sentAt)}
          </time>
          {m.late && <LateMark full={formatFull(m.sentAt)} />}
        </div>
      ) : (
        <span class="sr-only">
          {visible(m.from)}, {formatTime(m.sentAt)}:{' '}
        </span>
      )}
      <div class="message-body">{renderMarkdown(m.text, me)}</div>
      {m.snippet && <SnippetView snippet={m.snippet} />}
      {m.mine && <DeliveryState m={m} />}
    </div>
  );
}

export class TimelineRow extends Component<RowProps> {
  override shouldComponentUpdate(next: RowProps): boolean {
    const a = this.props.row;
    const b = next.row;
    if (next.index !== this.props.index || next.me !== this.props.me || a.key !== b.key || a.kind !== b.kind) return true;
    if (a.kind === 'day') return a.label !== (b as typeof a).label;
    if (a.kind === 'older') return false;
    if (a.kind === 'message') return a.item !== (b as typeof a).item || a.head !== (b as typeof a).head;
    return a.item !== (b as typeof a).item;
  }

  override render({ row, index, me }: RowProps) {
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
        return <MessageRow row={row} index={index} me={me} />;
      case 'older':
        return <OlderRow index={index} rowKey={row.key} />;
    }
  }
}
