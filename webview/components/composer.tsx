// Where I write. Enter sends, Shift+Enter starts a new line, Escape cancels a reply, else gives
// the focus back to the timeline. Answering a message shows "Replying to <name>: <excerpt>" above
// it, with a Cancel. Typing "@" offers the members' names (arrows move, Enter or Tab picks, Escape closes),
// the pattern of an ARIA combobox with a listbox. The draft lives in state.ts, so it survives
// switching conversations and the view being hidden.

import { useEffect, useRef, useState } from 'preact/hooks';
import { actions } from '../actions.ts';
import { messageActions } from '../conversation-actions.ts';
import { composerWanted } from '../focus.ts';
import { model } from '../state.ts';
import { IconButton } from './icon.tsx';
import { visible } from '../../protocol/text.ts';

const MAX_SUGGESTIONS = 8;
/** "@" at the start or after a space, then what is typed of a name, up to the caret. */
const PARTIAL_MENTION = /(^|\s)@([a-z0-9._-]*)$/i;

interface Completion {
  start: number;
  query: string;
  index: number;
}

export function Composer({ conversation, title, onEscape }: { conversation: string; title: string; onEscape: () => void }) {
  const text = model.drafts.value.get(conversation) ?? '';
  const me = model.me.value;
  const members = model.members.value;
  const reply = model.replies.value.get(conversation);
  const area = useRef<HTMLTextAreaElement>(null);
  const [completion, setCompletion] = useState<Completion | undefined>();
  // Asked for the focus (webview/focus.ts): take it, now or as soon as this composer is on the page.
  const wanted = composerWanted.value;
  useEffect(() => {
    if (!wanted || !area.current) return;
    composerWanted.value = false;
    area.current.focus({ preventScroll: true });
    const end = area.current.value.length;
    area.current.setSelectionRange(end, end);
  }, [wanted]);


  const query = completion?.query.toLowerCase();
  const candidates =
    query === undefined
      ? []
      : members
          .map((m) => m.user)
          .filter((u) => u !== me && u.startsWith(query))
          .sort()
          .slice(0, MAX_SUGGESTIONS);
  const listOpen = completion !== undefined && candidates.length > 0;
  const active = listOpen ? Math.min(completion.index, candidates.length - 1) : -1;
  const optionId = (user: string) => `mention-option-${user}`;

  const updateCompletion = (el: HTMLTextAreaElement): void => {
    const caret = el.selectionStart;
    const m = caret === el.selectionEnd ? PARTIAL_MENTION.exec(el.value.slice(0, caret)) : null;
    if (!m) {
      setCompletion(undefined);
      return;
    }
    const partial = m[2]!;
    const start = caret - partial.length - 1;
    setCompletion((c) => (c && c.start === start && c.query === partial ? c : { start, query: partial, index: 0 }));
  };

  const pick = (user: string): void => {
    const el = area.current;
    if (!el || !completion) return;
    const caret = el.selectionStart;
    const next = `${el.value.slice(0, completion.start)}@${user} ${el.value.slice(caret)}`;
    const at = completion.start + user.length + 2;
    el.value = next;
    el.setSelectionRange(at, at);
    actions.setDraft(conversation, next);
    setCompletion(undefined);
  };

  const onKeyDown = (e: KeyboardEvent): void => {
    if (e.isComposing) return;
    if (listOpen) {
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        const step = e.key === 'ArrowDown' ? 1 : -1;
        setCompletion({ ...completion, index: (active + step + candidates.length) % candidates.length });
        return;
      }
      if ((e.key === 'Enter' || e.key === 'Tab') && !e.shiftKey) {
        e.preventDefault();
        pick(candidates[active]!);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        setCompletion(undefined);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      actions.send(conversation);
      return;
    }
    if (e.key === 'Escape') {
      e.preventDefault();
      if (reply) messageActions.cancelReply(conversation);
      else onEscape();
    }
  };

  return (
    <div class="composer">
      {reply && (
        <div class="reply-bar" role="status">
          <span class="reply-bar-text">
            Replying to <span class="quote-from">{visible(reply.from)}</span>: {reply.deleted ? <span class="quote-text muted">message deleted</span> : <span class="quote-text">{visible(reply.excerpt)}</span>}
          </span>
          <IconButton
            icon="close"
            label="Cancel reply (Escape)"
            class="reply-cancel"
            onClick={() => {
              messageActions.cancelReply(conversation);
              area.current?.focus();
            }}
          />
        </div>
      )}
      {listOpen && (
        <ul id="mention-options" class="mention-options" role="listbox" aria-label="Members to mention">
          {candidates.map((user, i) => (
            <li
              key={user}
              id={optionId(user)}
              role="option"
              aria-selected={i === active}
              class={i === active ? 'active' : undefined}
              // mousedown, not click: the textarea must keep the focus (and the caret).
              onMouseDown={(e) => {
                e.preventDefault();
                pick(user);
              }}
            >
              @{visible(user)}
            </li>
          ))}
        </ul>
      )}
      <textarea
        ref={area}
        class="composer-input"
        rows={1}
        value={text}
        placeholder={reply ? `Reply to ${visible(reply.from)}` : `Message ${title}`}
        aria-label={reply ? `Reply to ${visible(reply.from)} in ${title}. Enter sends, Escape cancels the reply.` : `Message ${title}. Enter sends, Shift+Enter adds a line, Escape leaves.`}
        aria-autocomplete="list"
        aria-controls={listOpen ? 'mention-options' : undefined}
        aria-activedescendant={listOpen ? optionId(candidates[active]!) : undefined}
        onInput={(e) => {
          actions.setDraft(conversation, e.currentTarget.value);
          updateCompletion(e.currentTarget);
        }}
        onKeyDown={onKeyDown}
        onKeyUp={(e) => {
          if (['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) updateCompletion(e.currentTarget);
        }}
        onClick={(e) => updateCompletion(e.currentTarget)}
        onBlur={() => setCompletion(undefined)}
      />
      <IconButton icon="send" label="Send (Enter)" class="send-button" onClick={() => actions.send(conversation)} />
    </div>
  );
}

export function TypingIndicator() {
  return (
    <div class="typing-indicator" role="status" aria-live="polite">
      {model.typing.value}
    </div>
  );
}
