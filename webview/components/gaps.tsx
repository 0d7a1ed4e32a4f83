// Messages known to exist in the open conversation that have not arrived yet, one notice row per
// sender ("12 messages from carol not received yet"): shown until the gap is filled, never hidden.
// Below the timeline, so scrolling never takes them out of sight.

import { visible } from '../../protocol/text.ts';
import { model } from '../state.ts';
import { Icon } from './icon.tsx';

export function GapNotices() {
  const gaps = model.gaps.value;
  if (!gaps.length) return null;
  return (
    <div class="gap-notices" role="status" aria-live="polite">
      {gaps.map((g) => {
        const from = visible(g.from);
        const text = `${g.missing} ${g.missing === 1 ? 'message' : 'messages'} from ${from} not received yet`;
        const tip = `${from} or another member who has them sends them when you are both online; they then appear where they belong.`;
        return (
          <div key={g.from} class="row notice notice-info gap" data-from={g.from} title={tip}>
            <Icon name="cloud-download" />
            <span class="notice-text">{text}</span>
          </div>
        );
      })}
    </div>
  );
}
