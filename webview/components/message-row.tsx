// A message in the timeline: its header (the first of a group), the quote of the message it
// answers, its text (or "message deleted", or the inline editor), a shared snippet, "(edited)",
// reactions, my delivery state and "Seen by". Its actions, by mouse and keyboard: a toolbar shown
// on hover and while the row has the focus (Right arrow enters it, Left/Right move, Escape leaves),
// and keys on the focused row: R reply, + react, E edit and Delete (or Backspace) delete (my own messages). A
// deleted message has no actions. Everything from peers is rendered as text, never markup.

import { useRef, useState } from 'preact/hooks';
import { visible } from '../../protocol/text.ts';
import type { TimelineMessage } from '../../protocol/view.ts';
import { messageActions } from '../conversation-actions.ts';
import { renderMarkdown } from '../markdown.tsx';
import { formatFull, formatTime, namesText, type Row } from '../rows.ts';
import { ConfirmBar } from './confirm-bar.tsx';
import { DeliveryState, LateMark } from './delivery-state.tsx';
import { Icon, IconButton } from './icon.tsx';
import { EditBox, ReplyQuote } from './message-parts.tsx';
import { ReactionChips, ReactionPicker } from './reactions.tsx';
import { SnippetView } from './snippet-view.tsx';

type Mode = 'view' | 'edit' | 'delete' | 'react';

interface Props {
  row: Extract<Row, { kind: 'message' }>;
  index: number;
  me: string | undefined;
  seen?: readonly string[] | undefined;
  marked?: boolean | undefined;
}

/** The key shortcuts a focused message answers to (its aria-keyshortcuts). */
function shortcuts(m: TimelineMessage): string {
  return m.mine ? 'R E Delete Backspace' : 'R';
}

/** The row's actions; `toRow` gives the focus back to the row (at once: the timeline's arrows read it next). */
function Toolbar({ m, act, toRow }: { m: TimelineMessage; act: (what: Mode | 'reply') => void; toRow: () => void }) {
  const onKeyDown = (e: KeyboardEvent): void => {
    const buttons = Array.from((e.currentTarget as HTMLElement).querySelectorAll<HTMLElement>('button'));
    const at = buttons.indexOf(e.target as HTMLElement);
    if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      e.preventDefault();
      e.stopPropagation();
      const next = buttons[at + (e.key === 'ArrowRight' ? 1 : -1)];
      if (next) next.focus();
      else if (e.key === 'ArrowLeft') toRow();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      toRow();
    } else if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
      // The timeline moves on from the row, as if the row had the focus.
      toRow();
    }
  };
  return (
    <div class="message-actions" role="toolbar" aria-label="Message actions" onKeyDown={onKeyDown}>
      <IconButton class="message-action" icon="reply" label="Reply (R)" onClick={() => act('reply')} />
      <IconButton class="message-action" icon="reactions" label="Add reaction (+)" onClick={() => act('react')} />
      {m.mine && <IconButton class="message-action" icon="edit" label="Edit (E)" onClick={() => act('edit')} />}
      {m.mine && <IconButton class="message-action" icon="trash" label="Delete (Delete)" onClick={() => act('delete')} />}
    </div>
  );
}

export function MessageRow({ row, index, me, seen, marked }: Props) {
  const m = row.item;
  const [mode, setMode] = useState<Mode>('view');
  // The toolbar is rendered only while the row is hovered or holds the focus: a scrolled timeline
  // renders dozens of rows a frame, and most are never pointed at.
  const [hot, setHot] = useState(false);
  const self = useRef<HTMLDivElement>(null);
  const deleted = Boolean(m.deleted);
  const mode_ = deleted ? 'view' : mode;
  /** Back to reading: the row takes the focus again (after the editor or bar has gone). */
  const back = (): void => {
    setMode('view');
    setTimeout(() => self.current?.focus({ preventScroll: true }), 0);
  };
  const act = (what: Mode | 'reply'): void => {
    if (deleted) return;
    if (what === 'reply') messageActions.startReply(m);
    else if ((what === 'edit' || what === 'delete') && !m.mine) return;
    else setMode(what);
  };
  const onKeyDown = (e: KeyboardEvent): void => {
    // Keys on the row itself only: not typed into its editor or picker, not on its buttons.
    if (e.target !== e.currentTarget || e.altKey || e.ctrlKey || e.metaKey || deleted) return;
    const key = e.key;
    let handled = true;
    if (key === 'r' || key === 'R') act('reply');
    else if (key === '+') act('react');
    else if ((key === 'e' || key === 'E') && m.mine) act('edit');
    // Delete, or the Mac's delete key (Backspace).
    else if ((key === 'Delete' || key === 'Backspace') && m.mine) act('delete');
    else if (key === 'ArrowRight') self.current?.querySelector<HTMLElement>('.message-actions button')?.focus();
    else handled = false;
    if (handled) e.preventDefault();
  };
  const cls = `row message${row.head ? ' head' : ''}${m.mine ? ' mine' : ''}${m.mentionsMe ? ' mentions-me' : ''}${m.late ? ' late' : ''}${deleted ? ' deleted' : ''}${marked ? ' revealed' : ''}`;
  return (
    <div
      ref={self}
      class={cls}
      data-key={row.key}
      data-index={index}
      data-id={m.id}
      data-from={m.from}
      aria-keyshortcuts={deleted ? undefined : shortcuts(m)}
      onKeyDown={onKeyDown}
      onMouseEnter={() => setHot(true)}
      onMouseLeave={() => setHot(self.current?.contains(document.activeElement) ?? false)}
      onFocusIn={() => setHot(true)}
      onFocusOut={(e) => setHot(self.current?.contains(e.relatedTarget as Node | null) || (self.current?.matches(':hover') ?? false))}
    >
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
      {!deleted && hot && mode_ === 'view' && <Toolbar m={m} act={act} toRow={() => self.current?.focus({ preventScroll: true })} />}
      {!deleted && m.replyTo && <ReplyQuote quote={m.replyTo} />}
      {deleted ? (
        <div class="message-body deleted-text">message deleted</div>
      ) : mode_ === 'edit' ? (
        <EditBox text={m.text} onSave={(text) => (text === m.text ? undefined : messageActions.edit(m.id, text))} onDone={back} />
      ) : (
        <div class="message-body">{renderMarkdown(m.text, me)}</div>
      )}
      {!deleted && m.snippet && <SnippetView snippet={m.snippet} messageId={m.id} />}
      {!deleted && (m.edited || m.reactions?.length) ? (
        <div class="message-foot">
          {m.edited && (
            <span class="edited-mark" title="Its author changed this message">
              (edited)
            </span>
          )}
          {m.reactions?.length ? <ReactionChips m={m} me={me} onAdd={() => act('react')} /> : null}
        </div>
      ) : null}
      {mode_ === 'react' && <ReactionPicker m={m} onDone={back} />}
      {mode_ === 'delete' && (
        <ConfirmBar
          text="Delete this message for everyone? Each member who receives the delete removes its text; anyone who never comes back keeps what they had."
          confirmLabel="Delete"
          onConfirm={() => messageActions.remove(m.id)}
          onCancel={back}
        />
      )}
      {m.mine && !deleted && <DeliveryState m={m} />}
      {seen && seen.length > 0 && (
        <div class="seen-by" title={`Seen by ${seen.map(visible).join(', ')}`}>
          <Icon name="eye" /> Seen by {namesText(seen)}
        </div>
      )}
    </div>
  );
}
