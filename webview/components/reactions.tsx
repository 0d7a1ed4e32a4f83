// Reactions under a message: one chip per emoji with its count (mine highlighted, who reacted in
// its tooltip); a chip toggles my reaction (click, Enter or Space). The picker: common emoji and a
// field taking any one emoji (checked with protocol/message-actions.ts isEmoji, saying why not;
// a look-alike of a chip's emoji, "👍" with U+FE0F, toggles that chip: canonicalEmoji);
// arrows move, Tab stays inside, Escape closes and gives the focus back to the message.

import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { MAX_REACTIONS_PER_USER, canonicalEmoji } from '../../protocol/message-actions.ts';
import { visible } from '../../protocol/text.ts';
import type { TimelineMessage } from '../../protocol/view.ts';
import { messageActions } from '../conversation-actions.ts';
import { Icon } from './icon.tsx';

/** The picker's first row (the usual suspects of team chats). */
export const COMMON_EMOJI = ['👍', '❤️', '😄', '🎉', '😕', '👀', '🚀', '✅'] as const;
/** Names listed in a chip's tooltip; the rest are counted. */
const TOOLTIP_NAMES = 30;

/** "you, bob and carol reacted with 👍" (names made visible; me as "you"). */
function whoReacted(users: readonly string[], me: string | undefined, emoji: string): string {
  const names = users.slice(0, TOOLTIP_NAMES).map((u) => (u === me ? 'you' : visible(u)));
  const rest = users.length - names.length;
  const list = rest > 0 ? `${names.join(', ')} and ${rest} more` : names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}` : (names[0] ?? '');
  return `${list} reacted with ${visible(emoji)}`;
}

export function ReactionChips({ m, me, onAdd }: { m: TimelineMessage; me: string | undefined; onAdd: () => void }) {
  return (
    <span class="reactions" role="group" aria-label="Reactions">
      {(m.reactions ?? []).map((r) => {
        const who = whoReacted(r.users, me, r.emoji);
        return (
          <button
            key={r.emoji}
            type="button"
            class={`reaction${r.mine ? ' mine' : ''}`}
            aria-pressed={r.mine}
            title={who}
            aria-label={`${visible(r.emoji)} ${r.users.length}: ${who}. ${r.mine ? 'Take back your reaction' : 'React too'}`}
            onClick={() => messageActions.react(m.id, r.emoji, !r.mine, true)}
          >
            <span class="reaction-emoji">{visible(r.emoji)}</span>
            <span class="reaction-count">{r.users.length}</span>
          </button>
        );
      })}
      <button type="button" class="reaction add-reaction" aria-label="Add reaction" title="Add reaction" onClick={onAdd}>
        <Icon name="reactions" />
      </button>
    </span>
  );
}

/** The react picker of message `m`; `onDone` closes it (focus back to the message). */
export function ReactionPicker({ m, onDone }: { m: TimelineMessage; onDone: () => void }) {
  const root = useRef<HTMLDivElement>(null);
  const [problem, setProblem] = useState<string | undefined>();
  const problemId = useId();
  useEffect(() => root.current?.querySelector<HTMLElement>('.picker-emoji')?.focus({ preventScroll: true }), []);
  const pick = (emoji: string): void => {
    const canonical = canonicalEmoji(emoji.trim());
    const e = canonical ?? emoji.trim();
    const mineNow = (m.reactions ?? []).filter((r) => r.mine);
    const mine = mineNow.some((r) => r.emoji === e);
    // The engine refuses a 9th too; said here at once, in the picker (not an emoji: react says why).
    const why = canonical !== undefined && !mine && mineNow.length >= MAX_REACTIONS_PER_USER
      ? `You have ${MAX_REACTIONS_PER_USER} reactions on this message, the most one person may. Take one back first.`
      : messageActions.react(m.id, e, !mine);
    setProblem(why);
    if (!why) onDone();
  };
  const onKeyDown = (e: KeyboardEvent): void => {
    if (e.isComposing) return;
    const stops = Array.from(root.current?.querySelectorAll<HTMLElement>('button, input') ?? []);
    const at = stops.indexOf(e.target as HTMLElement);
    const emojiButtons = stops.filter((s) => s.classList.contains('picker-emoji'));
    const onEmoji = emojiButtons.includes(e.target as HTMLElement);
    let next: HTMLElement | undefined;
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      onDone();
      return;
    }
    if (e.key === 'Tab') next = stops[(at + (e.shiftKey ? -1 : 1) + stops.length) % stops.length];
    else if (onEmoji && (e.key === 'ArrowRight' || e.key === 'ArrowLeft')) next = emojiButtons[(at + (e.key === 'ArrowRight' ? 1 : -1) + emojiButtons.length) % emojiButtons.length];
    else if (e.key === 'ArrowDown' && onEmoji) next = root.current?.querySelector<HTMLElement>('.picker-input') ?? undefined;
    else if (e.key === 'ArrowUp' && !onEmoji) next = emojiButtons[0];
    else if (e.key === 'Enter' && (e.target as HTMLElement).classList.contains('picker-input')) {
      e.preventDefault();
      e.stopPropagation();
      pick((e.target as HTMLInputElement).value);
      return;
    }
    // The picker's keys stay in the picker (not the row's, not the timeline's).
    e.stopPropagation();
    if (next) {
      e.preventDefault();
      next.focus();
    } else if (e.key.startsWith('Arrow') && onEmoji) e.preventDefault();
  };
  return (
    <div ref={root} class="react-picker" role="dialog" aria-label="Add a reaction" onKeyDown={onKeyDown}>
      <div class="picker-common" role="group" aria-label="Common reactions">
        {COMMON_EMOJI.map((emoji) => (
          <button key={emoji} type="button" class="picker-emoji" aria-label={`React with ${emoji}`} title={`React with ${emoji}`} onClick={() => pick(emoji)}>
            {emoji}
          </button>
        ))}
      </div>
      <div class="picker-any">
        <input
          class="picker-input"
          type="text"
          maxLength={64}
          placeholder="Any emoji"
          aria-label="Any emoji: type or paste one, then Enter"
          aria-invalid={problem ? 'true' : undefined}
          aria-describedby={problem ? problemId : undefined}
        />
        <button
          type="button"
          class="secondary small"
          onClick={(e) => pick((e.currentTarget.parentElement?.querySelector('input') as HTMLInputElement | null)?.value ?? '')}
        >
          React
        </button>
        <button type="button" class="secondary small" onClick={onDone}>
          Cancel
        </button>
      </div>
      {problem && (
        <div class="form-error" id={problemId} role="alert">
          {problem}
        </div>
      )}
    </div>
  );
}
