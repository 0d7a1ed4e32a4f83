// "P2P Chat: Search Messages": a QuickPick that searches every conversation's history as the user
// types (debounced; an answer to an older query is dropped), busy while a search runs; choosing a
// result opens its conversation in the view at that message. When the engine's search index is full,
// the title says from when messages were searched. The same pick runs in the window holding the
// engine and in an attached window (which asks the holder: extension/attached-commands.ts).

import * as vscode from 'vscode';
import { SEARCH_LIMITS } from '../protocol/message-actions.ts';
import { searchedFromNote } from '../protocol/search-coverage.ts';
import type { SearchAnswer, SearchHit } from '../protocol/view.ts';
import { pickText } from './labels.ts';

/** Milliseconds of no typing before a search runs. */
export const SEARCH_DEBOUNCE_MS = 250;

export interface SearchPickHooks {
  /** Results for `query`, newest first, and `searchedFrom` when the index is full. */
  search(query: string): Promise<SearchAnswer>;
  /** Opens the result's conversation at its message. */
  open(hit: SearchHit): Promise<void>;
}

interface HitItem extends vscode.QuickPickItem {
  hit: SearchHit;
}

/** The QuickPick item of a result: sender and text (label), conversation (description), time (detail). */
export function hitItem(hit: SearchHit): HitItem {
  return {
    label: `${pickText(hit.from)}: ${pickText(hit.text)}`,
    description: hit.key.startsWith('dm:') ? pickText(hit.title) : `#${pickText(hit.title)}`,
    detail: new Date(hit.sentAt).toLocaleString(),
    // The label shows the text around the match, which VS Code's own filter would hide.
    alwaysShow: true,
    hit,
  };
}

const TITLE = 'Search Messages';

/** The title, with what a full index did not search: it stays in sight as the user types (a placeholder does not). */
function pickTitle(searchedFrom: number | undefined): string {
  return searchedFrom === undefined ? TITLE : `${TITLE}. ${searchedFromNote(searchedFrom)}`;
}

/** Shows the search pick; resolves when it is accepted (and the result opened) or dismissed. */
export function searchMessages(hooks: SearchPickHooks, initial = ''): Promise<void> {
  const pick = vscode.window.createQuickPick<HitItem>();
  pick.title = TITLE;
  pick.placeholder = 'Words to find in every conversation (Enter opens the message)';
  pick.matchOnDescription = false;
  pick.matchOnDetail = false;
  pick.value = initial;
  let timer: NodeJS.Timeout | undefined;
  /** The number of the latest query: answers to earlier ones are dropped. */
  let latest = 0;
  const run = (query: string) => {
    clearTimeout(timer);
    const asked = ++latest;
    const text = query.trim().slice(0, SEARCH_LIMITS.queryChars);
    if (!text) {
      pick.busy = false;
      pick.items = [];
      pick.placeholder = 'Words to find in every conversation (Enter opens the message)';
      return;
    }
    pick.busy = true;
    timer = setTimeout(() => {
      hooks.search(text).then(
        ({ results: hits, searchedFrom }) => {
          if (asked !== latest) return;
          pick.busy = false;
          pick.title = pickTitle(searchedFrom);
          pick.items = hits.map(hitItem);
          if (!hits.length) pick.placeholder = `No message contains "${pickText(text)}"`;
        },
        (err: unknown) => {
          if (asked !== latest) return;
          pick.busy = false;
          pick.items = [];
          void vscode.window.showErrorMessage(`P2P Chat: the search failed: ${pickText(String((err as Error)?.message ?? err))}`);
        },
      );
    }, SEARCH_DEBOUNCE_MS);
  };
  return new Promise<void>((resolve) => {
    let accepted = false;
    pick.onDidChangeValue(run);
    pick.onDidAccept(() => {
      const chosen = pick.selectedItems[0] ?? pick.activeItems[0];
      if (!chosen) return;
      accepted = true;
      pick.hide();
      hooks.open(chosen.hit).then(resolve, (err: unknown) => {
        void vscode.window.showErrorMessage(`P2P Chat: could not open the message: ${pickText(String((err as Error)?.message ?? err))}`);
        resolve();
      });
    });
    pick.onDidHide(() => {
      clearTimeout(timer);
      latest++;
      pick.dispose();
      if (!accepted) resolve();
    });
    pick.show();
    if (initial) run(initial);
  });
}
