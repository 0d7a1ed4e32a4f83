// What my own message's delivery looks like: sending, delivered to N of M, waiting for (names) in
// the outbox, or not delivered to (names) when it expired there, with a tooltip that says what
// happened and what to do. Names come from peers: they are made visible, never markup.

import type { TimelineMessage } from '../../protocol/view.ts';
import { namesText } from '../rows.ts';
import { Icon } from './icon.tsx';

function Delivered({ delivered }: { delivered: NonNullable<TimelineMessage['delivered']> }) {
  const { count, of } = delivered;
  const all = count >= of;
  const label = of === 0 ? 'Sent; nobody else is in this conversation yet' : count === 0 ? `Sending: delivered to 0 of ${of} so far` : `Delivered to ${count} of ${of}`;
  return <Icon name={all ? 'check-all' : count === 0 ? 'circle-large-outline' : 'check'} class={`delivery${all ? ' delivered-all' : ''}`} label={label} />;
}

/** The state of my message `m`, most urgent first: not delivered, waiting, delivered counts. */
export function DeliveryState({ m }: { m: TimelineMessage }) {
  if (m.notDelivered?.length) {
    const names = namesText(m.notDelivered);
    const tip = `Not delivered to ${names}: it expired in your outbox before ${m.notDelivered.length === 1 ? 'they were' : 'they were all'} reachable. Send it again to try once more.`;
    return (
      <span class="delivery-state not-delivered" title={tip}>
        <Icon name="warning" />
        <span class="sr-only">Warning: </span>
        not delivered to {names}
        <span class="sr-only">. {tip}</span>
      </span>
    );
  }
  if (m.waitingFor?.length) {
    const names = namesText(m.waitingFor);
    const tip = `Kept in your outbox: it is delivered when ${names} can be reached again. Nothing to do.`;
    return (
      <span class="delivery-state waiting" title={tip}>
        <Icon name="clock" />
        waiting for {names}
      </span>
    );
  }
  if (m.delivered) return <Delivered delivered={m.delivered} />;
  // From the history store: nothing waits for anyone.
  return <Icon name="check-all" class="delivery delivered-all" label="Delivered to everyone it was for" />;
}

/** The "late" mark of a message that arrived after messages that come after it. */
export function LateMark({ full }: { full: string }) {
  const tip = `Arrived late: sent ${full}, before messages shown below it, and received only now. It is shown where it belongs.`;
  return (
    <span class="late-mark" title={tip}>
      late<span class="sr-only">: {tip}</span>
    </span>
  );
}
