// Reaction rows as last opened (peer/history.ts fromRow). A message's reactions are read again
// each time one arrives, is sent, or the message is shown, and opening a row (decrypting, parsing,
// checking) costs far more than finding it. Only reaction rows are kept: no message text is held
// here (a delete scrubs texts, never reactions). An entry is keyed by the row's every clear
// column and answers only for the very same sealed bytes, so a hit is exactly what opening would
// give; anything else (another body, a changed column) is opened, and checked, as before.

/** A bounded map of opened rows: the least recently used goes first. */
export class OpenedRows<T> {
  private readonly rows = new Map<string, { sealed: Buffer; value: T }>();

  /** `max`: entries kept (each a reaction row: its id columns, some 100 sealed bytes, the opened value). */
  constructor(private readonly max: number) {}

  /** The value opened from `sealed` for the row `key`, or undefined when not held for those bytes. */
  get(key: string, sealed: Uint8Array): T | undefined {
    const hit = this.rows.get(key);
    if (!hit || !hit.sealed.equals(sealed)) return undefined;
    this.rows.delete(key);
    this.rows.set(key, hit);
    return hit.value;
  }

  /** Keeps `value` as what `sealed` opens to for the row `key` (a copy of the bytes is kept). */
  set(key: string, sealed: Uint8Array, value: T): void {
    this.rows.delete(key);
    if (this.rows.size >= this.max) this.rows.delete(this.rows.keys().next().value!);
    this.rows.set(key, { sealed: Buffer.from(sealed), value });
  }

  /** Forgets every row (a conversation's rows were deleted). */
  clear(): void {
    this.rows.clear();
  }
}
