// The first row of a timeline while older messages exist in the history store: it loads them
// (the timeline asks when it is scrolled to; its button does the same from the keyboard), says so
// while a page is on its way, and after a failure says why with a Retry.

import { actions } from '../actions.ts';
import { model } from '../state.ts';
import { Icon } from './icon.tsx';

export function OlderRow({ index, rowKey }: { index: number; rowKey: string }) {
  const loading = model.paging.value;
  const error = model.pageError.value;
  return (
    <div class="row older" data-key={rowKey} data-index={index} role="status" aria-busy={loading}>
      {loading ? (
        <>
          <Icon name="loading" class="codicon-modifier-spin" /> <span>Loading older messages…</span>
        </>
      ) : error !== undefined ? (
        <>
          <Icon name="warning" /> <span class="older-error">Older messages did not load: {error}</span>
          <button type="button" class="secondary small" onClick={() => actions.loadOlder(true)}>
            Retry
          </button>
        </>
      ) : (
        <button type="button" class="link-button small" onClick={() => actions.loadOlder()}>
          <Icon name="history" /> Load older messages
        </button>
      )}
    </div>
  );
}
