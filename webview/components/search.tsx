// Search across every conversation's history: a search box at the top of the view (the toolbar's
// search button or Ctrl+F / Cmd+F opens it, Escape closes it and the focus goes back). Typing runs
// the search once typing pauses; results show the conversation, sender, time and the text around
// the match with the searched words marked. Up and Down choose a result (the box keeps the focus:
// an ARIA combobox with a listbox), Enter or a click opens it in its conversation. When the
// engine's search index is full, the answer says from when messages were searched.

import { useEffect, useRef } from 'preact/hooks';
import { searchedFromNote } from '../../protocol/search-coverage.ts';
import { visible } from '../../protocol/text.ts';
import type { SearchHit } from '../../protocol/view.ts';
import { messageActions } from '../conversation-actions.ts';
import { highlighted } from '../highlight.tsx';
import { formatFull, formatTime } from '../rows.ts';
import { model } from '../state.ts';
import { IconButton } from './icon.tsx';

/** Where the focus was before the search box took it, to give it back on Escape. */
let returnFocus: HTMLElement | undefined;

/** Opens the search box and puts the focus in it. */
export function openSearch(): void {
  const active = document.activeElement;
  if (active instanceof HTMLElement && !active.closest('.search-panel')) returnFocus = active;
  messageActions.openSearch();
  setTimeout(() => document.querySelector<HTMLInputElement>('.search-input')?.select(), 0);
}

function closeSearch(): void {
  messageActions.closeSearch();
  const back = returnFocus;
  returnFocus = undefined;
  setTimeout(() => (back?.isConnected ? back : document.querySelector<HTMLElement>('.composer textarea'))?.focus({ preventScroll: true }), 0);
}

const optionId = (i: number) => `search-result-${i}`;

function Result({ hit, index, active, query }: { hit: SearchHit; index: number; active: boolean; query: string }) {
  return (
    <li
      id={optionId(index)}
      role="option"
      aria-selected={active}
      class={`search-result${active ? ' active' : ''}`}
      // mousedown, not click: the box keeps the focus until the result opens.
      onMouseDown={(e) => {
        e.preventDefault();
        messageActions.openResult(hit);
      }}
    >
      <div class="search-result-meta">
        <span class="search-result-title">{visible(hit.title)}</span>
        <span class="sender">{visible(hit.from)}</span>
        <time dateTime={new Date(hit.sentAt).toISOString()} title={formatFull(hit.sentAt)}>
          {formatTime(hit.sentAt)}
        </time>
      </div>
      <div class="search-result-text">{highlighted(hit.text, query)}</div>
    </li>
  );
}

export function SearchPanel() {
  const search = model.search.value;
  const input = useRef<HTMLInputElement>(null);
  // Ctrl+F (Cmd+F) anywhere in the view opens the box.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && !e.altKey && !e.shiftKey && e.key.toLowerCase() === 'f') {
        e.preventDefault();
        openSearch();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
  const results = search.results;
  const active = results.length ? Math.min(search.active, results.length - 1) : -1;
  useEffect(() => {
    if (active >= 0) document.getElementById(optionId(active))?.scrollIntoView({ block: 'nearest' });
  }, [active, results]);
  if (!search.open) return null;
  const onKeyDown = (e: KeyboardEvent): void => {
    if (e.isComposing) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      messageActions.moveSearch(e.key === 'ArrowDown' ? 1 : -1);
    } else if (e.key === 'Enter') {
      e.preventDefault();
      const hit = results[active];
      if (hit) messageActions.openResult(hit);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      closeSearch();
    }
  };
  const status =
    search.error ??
    (search.latest !== undefined
      ? 'Searching…'
      : search.answered === undefined
        ? 'Type to search every conversation.'
        : results.length === 0
          ? `Nothing found for "${visible(search.answered)}".`
          : `${results.length} ${results.length === 1 ? 'message' : 'messages'} found. Up and Down choose, Enter opens.`);
  // Only with the answer it came with: not while the next one is awaited, nor with an error.
  const coverage = !search.error && search.latest === undefined && search.answered !== undefined && search.searchedFrom !== undefined ? searchedFromNote(search.searchedFrom) : undefined;
  return (
    <section class="search-panel" aria-label="Search messages">
      <div class="search-row">
        <input
          ref={input}
          class="search-input"
          type="search"
          role="combobox"
          value={search.query}
          placeholder="Search messages"
          aria-label="Search messages in every conversation"
          aria-expanded={results.length > 0}
          aria-controls="search-results"
          aria-activedescendant={active >= 0 ? optionId(active) : undefined}
          aria-invalid={search.error ? 'true' : undefined}
          onInput={(e) => messageActions.setSearchQuery(e.currentTarget.value)}
          onKeyDown={onKeyDown}
        />
        <IconButton icon="close" label="Close search (Escape)" onClick={closeSearch} />
      </div>
      <div class={`search-status${search.error ? ' form-error' : ' muted'}`} role="status">
        {status}
        {coverage && <div class="search-coverage">{coverage}</div>}
      </div>
      {results.length > 0 && (
        <ul id="search-results" class="search-results" role="listbox" aria-label="Search results">
          {results.map((hit, i) => (
            <Result key={`${hit.key}\n${hit.id}`} hit={hit} index={i} active={i === active} query={search.answered ?? ''} />
          ))}
        </ul>
      )}
    </section>
  );
}
