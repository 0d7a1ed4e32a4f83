// Codicons from @vscode/codicons (dist/codicons/codicon.css, loaded by the host's HTML).
// Decorative unless given a label; a labelled icon is an image to screen readers and has a tooltip.

export function Icon({ name, label, class: extra }: { name: string; label?: string; class?: string }) {
  const cls = `codicon codicon-${name}${extra ? ` ${extra}` : ''}`;
  return label ? <span class={cls} role="img" aria-label={label} title={label} /> : <span class={cls} aria-hidden="true" />;
}

/** A button showing only an icon; `label` is its accessible name and tooltip. */
export function IconButton(props: {
  icon: string;
  label: string;
  onClick: () => void;
  expanded?: boolean;
  controls?: string;
  class?: string;
  disabled?: boolean;
}) {
  return (
    <button
      type="button"
      class={`icon-button${props.class ? ` ${props.class}` : ''}`}
      aria-label={props.label}
      title={props.label}
      aria-expanded={props.expanded}
      aria-controls={props.controls}
      disabled={props.disabled}
      onClick={props.onClick}
    >
      <Icon name={props.icon} />
    </button>
  );
}
