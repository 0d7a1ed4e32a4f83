// The first row of a timeline while older messages exist in the history store, and the last while
// newer ones exist (the view jumped back to a message): it loads them (the timeline asks when it is
// scrolled near; its button does the same from the keyboard), says so while a page is on its way,
// and after a failure says why with a Retry. The newer row also offers the newest at once.

import { actions } from '../actions.ts';
import { model } from '../state.ts';
import { Icon } from './icon.tsx';

export function PageRow({ dir, index, rowKey }: { dir: 'older' | 'newer'; index: number; rowKey: string }) {
  const older = dir === 'older';
  const loading = older ? model.paging.value : model.pagingNewer.value;
  const error = older ? model.pageError.value : model.newerError.value;
  const load = (retry = false) => actions.loadPage(dir, retry);
  return (
    <div class={`row ${dir}`} data-key={rowKey} data-index={index} role="status" aria-busy={loading}>
      {loading ? (
        <>
          <Icon name="loading" class="codicon-modifier-spin" /> <span>{older ? 'Loading older messages…' : 'Loading newer messages…'}</span>
        </>
      ) : error !== undefined ? (
        <>
          <Icon name="warning" /> <span class="older-error">{older ? 'Older' : 'Newer'} messages did not load: {error}</span>
          <button type="button" class="secondary small" onClick={() => load(true)}>
            Retry
          </button>
        </>
      ) : (
        <button type="button" class="link-button small" onClick={() => load()}>
          <Icon name={older ? 'history' : 'arrow-down'} /> {older ? 'Load older messages' : 'Load newer messages'}
        </button>
      )}
      {!older && (
        <button type="button" class="link-button small" onClick={() => actions.jumpToNewest()}>
          <Icon name="arrow-down" /> Jump to newest
        </button>
      )}
    </div>
  );
}
