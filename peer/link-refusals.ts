// Refused inbound handshakes, reported without a flood: strangers can open connections far
// faster than anyone can read about them (1,100 timed-out handshakes every 10 s was one report
// per connection). The first few per interval are reported one by one, so a single failure is
// still explained; the rest are counted and reported once, as a summary, when the interval ends.

import type { LinkErrorCode } from '../protocol/errors.ts';

export interface RefusalDetail {
  address: string;
  code: LinkErrorCode;
  message: string;
  /** A `link.busy` handshake evicted to make room for a newcomer (counted apart in summaries). */
  evicted?: boolean;
}

export interface RefusalSummary {
  /** Refusals not reported one by one in this interval. */
  count: number;
  /** How many of them per error code, most frequent first. */
  codes: [code: string, count: number][];
  /** Of them, handshakes evicted to make room for a newcomer (code `link.busy`). */
  evicted: number;
  /** Distinct remote addresses among them (counted up to MAX_ADDRESSES). */
  addresses: number;
  intervalMs: number;
  /** One line for people: what happened and what to do. */
  message: string;
}

const MAX_ADDRESSES = 1000;

/** The message of a `link.busy` refusal of a handshake evicted to make room (LinkServer). */
export function evictionMessage(peer: string, held: number, by: string): string {
  const which = held === 1 ? 'the only one' : `the oldest of ${held}`;
  return `evicted the handshake of ${peer}, ${which} under way from that address, to make room for a connection from ${by}`;
}

/** A refusal that was an eviction (counted apart in summaries). */
export function isEviction(detail: RefusalDetail): boolean {
  return detail.evicted === true;
}

export class RefusalReporter {
  private shown = 0;
  private suppressed = 0;
  private evicted = 0;
  private readonly codes = new Map<string, number>();
  private readonly addresses = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  /**
   * `perInterval`: refusals passed to `one` per interval; `intervalMs`: the interval, which starts
   * at the first refusal after a quiet one. `summary` gets the rest once, at the interval's end.
   */
  constructor(
    private readonly perInterval: number,
    private readonly intervalMs: number,
    private readonly one: (detail: RefusalDetail) => void,
    private readonly summary: (summary: RefusalSummary) => void,
  ) {}

  report(detail: RefusalDetail): void {
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.intervalMs);
      this.timer.unref();
    }
    if (this.shown < this.perInterval) {
      this.shown += 1;
      this.one(detail);
      return;
    }
    this.suppressed += 1;
    if (isEviction(detail)) this.evicted += 1;
    this.codes.set(detail.code, (this.codes.get(detail.code) ?? 0) + 1);
    if (this.addresses.size < MAX_ADDRESSES) this.addresses.add(detail.address);
  }

  /** Stops the timer; refusals not reported yet are dropped (the owner is shutting down). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private flush(): void {
    this.timer = undefined;
    const count = this.suppressed;
    const codes = [...this.codes].sort((a, b) => b[1] - a[1]);
    const addresses = this.addresses.size;
    const evicted = this.evicted;
    this.shown = 0;
    this.suppressed = 0;
    this.evicted = 0;
    this.codes.clear();
    this.addresses.clear();
    if (!count) return;
    const seconds = Math.round(this.intervalMs / 100) / 10;
    const message =
      `refused ${count} more peer link${count === 1 ? '' : 's'} in the last ${seconds} s from ${addresses}` +
      `${addresses >= MAX_ADDRESSES ? '+' : ''} address${addresses === 1 ? '' : 'es'} ` +
      `(${codes.map(([c, n]) => `${n} ${c}`).join(', ')}${evicted ? `; ${evicted} of them evicted to make room for other addresses` : ''}): ` +
      'connections that did not complete a handshake. ' +
      'Established links are not affected; if this goes on, someone on the network is probing or flooding your peer port.';
    this.summary({ count, codes, evicted, addresses, intervalMs: this.intervalMs, message });
  }
}
