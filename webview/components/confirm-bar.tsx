// An inline "are you sure?" for actions others notice (leave, close, remove someone): it takes
// the focus, Escape or Cancel backs out.

import { useEffect, useRef } from 'preact/hooks';

export function ConfirmBar(props: { text: string; confirmLabel: string; onConfirm: () => void; onCancel: () => void }) {
  const confirm = useRef<HTMLButtonElement>(null);
  useEffect(() => confirm.current?.focus(), []);
  return (
    <div
      class="confirm-bar"
      role="group"
      aria-label={props.text}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          props.onCancel();
        }
      }}
    >
      <span class="confirm-text">{props.text}</span>
      <button
        type="button"
        class="primary small"
        ref={confirm}
        onClick={() => {
          props.onConfirm();
          props.onCancel();
        }}
      >
        {props.confirmLabel}
      </button>
      <button type="button" class="secondary small" onClick={props.onCancel}>
        Cancel
      </button>
    </div>
  );
}
