// A collapsible sidebar section (Rooms, Direct messages, People, Directory), like VS Code's own
// view panes: a header button with aria-expanded, and optional actions next to it.

import type { ComponentChildren } from 'preact';
import { actions } from '../actions.ts';
import { model } from '../state.ts';
import { Icon } from './icon.tsx';

export function Section(props: { id: string; title: string; count?: number; countLabel?: string; actions?: ComponentChildren; children: ComponentChildren }) {
  const collapsed = model.collapsed.value.has(props.id);
  const bodyId = `section-${props.id}`;
  return (
    <section class="section" aria-labelledby={`${bodyId}-title`}>
      <div class="section-header">
        <button
          type="button"
          class="section-toggle"
          id={`${bodyId}-title`}
          aria-expanded={!collapsed}
          aria-controls={bodyId}
          onClick={() => actions.toggleSection(props.id)}
        >
          <Icon name={collapsed ? 'chevron-right' : 'chevron-down'} />
          <span class="section-title">{props.title}</span>
          {props.count !== undefined && (
            <span class="section-count" title={props.countLabel ? `${props.count} ${props.countLabel}` : undefined}>
              {props.count}
              {props.countLabel && <span class="sr-only"> {props.countLabel}</span>}
            </span>
          )}
        </button>
        {props.actions && <div class="section-actions">{props.actions}</div>}
      </div>
      <div id={bodyId} class="section-body" hidden={collapsed}>
        {props.children}
      </div>
    </section>
  );
}
