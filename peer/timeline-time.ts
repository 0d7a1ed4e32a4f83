// Where a received message goes in the timeline (DESIGN.md "Timeline order"): at its sender's
// signed time, but never after the moment it arrived here. Read positions ("seen by", the "New
// messages" line) are "the furthest message in timeline order", so a message dated ahead of this
// clock would otherwise sort after everything that arrives until its date comes (up to a day,
// the most peer/room-messages.ts accepts), and reading it would count as reading all of those.

/**
 * The timeline time (ms) to store for a shown message received now: the smallest of its signed
 * time `signed`, this device's clock at arrival `arrived`, and `nextOfSender`, the timeline time
 * of the sender's next message of the same session already stored here (undefined: none). The
 * last keeps the sender's own order when messages dated ahead arrive out of order (a forwarder
 * reordered them): ties are broken by seq (peer/history.ts). With clocks in step nothing changes
 * (a message's signed time is already behind its arrival), so every member keeps the one order.
 */
export function timelineTime(signed: number, arrived: number, nextOfSender: number | undefined): number {
  return Math.min(signed, Math.floor(arrived), nextOfSender ?? Infinity);
}
