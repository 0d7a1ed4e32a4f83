// Parts of a message row: the quote of the message a reply answers (following it scrolls to the
// original, loading older pages when needed) and the inline editor of my own message's text.

import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { visible } from '../../protocol/text.ts';
import type { QuotedMessage } from '../../protocol/view.ts';
import { messageActions } from '../conversation-actions.ts';
import { Icon } from './icon.tsx';

/** What a quote says: who and the start of what, "message deleted", or that the original is not here. */
function quoteText(quote: QuotedMessage): { from?: string; text: string; muted: boolean } {
  if (quote.deleted) return { ...(quote.from ? { from: visible(quote.from) } : {}), text: 'message deleted', muted: true };
  if (quote.from === undefined && quote.excerpt === undefined) return { text: 'original not loaded', muted: true };
  return { ...(quote.from ? { from: visible(quote.from) } : {}), text: visible(quote.excerpt ?? ''), muted: false };
}

/** The quote above a reply; a button: click or Enter shows the original. */
export function ReplyQuote({ quote }: { quote: QuotedMessage }) {
  const q = quoteText(quote);
  const label = `In reply to ${q.from ? `${q.from}: ` : ''}${q.text}. Show the original message.`;
  return (
    <button type="button" class="reply-quote" aria-label={label} title="Show the original message" onClick={() => messageActions.reveal(quote.id)}>
      <Icon name="reply" />
      {q.from && <span class="quote-from">{q.from}</span>}
      <span class={`quote-text${q.muted ? ' muted' : ''}`}>{q.text}</span>
    </button>
  );
}

/**
 * My message's text in an editor, in place: Enter saves, Shift+Enter adds a line, Escape cancels.
 * `onSave` returns why the text cannot be saved (shown under it), or undefined when it was asked
 * (or nothing changed); `onDone` ends editing.
 */
export function EditBox({ text, onSave, onDone }: { text: string; onSave: (text: string) => string | undefined; onDone: () => void }) {
  const area = useRef<HTMLTextAreaElement>(null);
  const [problem, setProblem] = useState<string | undefined>();
  /** Several rows may be edited at once: ids unique per editor. */
  const problemId = useId();
  useEffect(() => {
    const el = area.current;
    if (!el) return;
    el.focus({ preventScroll: true });
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);
  const save = (): void => {
    const why = onSave(area.current?.value ?? text);
    setProblem(why);
    if (!why) onDone();
  };
  const onKeyDown = (e: KeyboardEvent): void => {
    if (e.isComposing) return;
    // The timeline's and the row's keys are not for this editor.
    e.stopPropagation();
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      save();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      onDone();
    }
  };
  return (
    <div class="edit-box">
      <textarea
        ref={area}
        class="edit-input"
        rows={1}
        defaultValue={text}
        aria-label="Edit message. Enter saves, Shift+Enter adds a line, Escape cancels."
        aria-invalid={problem ? 'true' : undefined}
        aria-describedby={problem ? problemId : undefined}
        onKeyDown={onKeyDown}
      />
      {problem && (
        <div class="form-error" id={problemId} role="alert">
          {problem}
        </div>
      )}
      <div class="edit-buttons">
        <span class="muted edit-hint">Enter saves · Escape cancels</span>
        <button type="button" class="secondary small" onClick={onDone}>
          Cancel
        </button>
        <button type="button" class="primary small" onClick={save}>
          Save
        </button>
      </div>
    </div>
  );
}
