// Where each timeline row is: its measured or estimated height and its top, kept in step with the
// rows as they change. Appending rows or replacing one in place costs only what changed.

import type { Row } from './rows.ts';

export class RowLayout {
  /** heights[i]: row i's measured or estimated height (px). */
  heights = new Float64Array(64);
  /** offsets[i]: row i's top (px); offsets[n]: the total height. */
  offsets = new Float64Array(65);
  /** The rows the two arrays describe. */
  rows: Row[] = [];
  /** The first row whose height changed since the offsets were computed (offsets after it are stale). */
  staleFrom = 0;

  /**
   * Brings heights/offsets in line with `rows`. Appending (a new message) or replacing a row in
   * place (a delivery update) only computes the new rows; anything else starts over.
   */
  sync(rows: Row[], heightOf: (row: Row) => number): void {
    const old = this.rows;
    if (rows !== old) {
      const n = rows.length;
      const m = old.length;
      const kept = m > 0 && n >= m && rows[0]!.key === old[0]!.key && rows[m >> 1]!.key === old[m >> 1]!.key && rows[m - 1]!.key === old[m - 1]!.key ? m : 0;
      if (this.heights.length < n) {
        const capacity = Math.max(64, n * 2);
        const heights = new Float64Array(capacity);
        heights.set(this.heights.subarray(0, kept));
        const offsets = new Float64Array(capacity + 1);
        offsets.set(this.offsets.subarray(0, kept + 1));
        this.heights = heights;
        this.offsets = offsets;
      }
      for (let i = kept; i < n; i++) this.heights[i] = heightOf(rows[i]!);
      this.staleFrom = Math.min(kept === 0 ? 0 : this.staleFrom, kept);
      this.rows = rows;
    }
    const n = this.rows.length;
    if (this.staleFrom > n) this.staleFrom = n;
    let y = this.offsets[this.staleFrom]!;
    for (let i = this.staleFrom; i < n; i++) {
      this.offsets[i] = y;
      y += this.heights[i]!;
    }
    this.offsets[n] = y;
    this.staleFrom = n;
  }

  /** The largest i with offsets[i] <= y. */
  indexAt(y: number, n: number): number {
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.offsets[mid]! <= y) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
