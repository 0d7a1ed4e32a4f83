// Padding a plaintext to a size bucket before it is encrypted, so that what the tracker's mailbox
// and anyone on the LAN see (a ciphertext's length) does not tell a reaction from a read receipt,
// a delete or a short message. The one rule, used for every sealed message (peer/sender-key-send.ts).
//
// The rule: the smallest multiple of `step` at least the length, where `step` is 256 bytes below
// 4 KiB and 1/16 of the power of two at or below the length from there on (512 from 8 KiB, 1 KiB
// from 16 KiB, ...), never more than the caller's maximum. Every action and any message body up to
// 256 bytes (a text of about 180 ASCII characters) is one size. Cost: at most 255 bytes below
// 4 KiB, under 1/16 (6.25 %) above; what stays visible is the bucket (16 a doubling).
//
// The padding is ASCII spaces after the JSON, which JSON ignores: a receiver from before padding
// reads a padded message, and a message sealed before padding (held, or in a mailbox) still opens.

/** The smallest bucket, and the step below 4 KiB. */
export const PAD_MIN_BYTES = 256;
/** Buckets a doubling above 4 KiB (the step is the power of two below the length over this). */
const STEPS_PER_DOUBLING = 16;
const SPACE = 0x20;

/**
 * The padded length (bytes) for a plaintext of `n` bytes: its bucket, but at most `max` (the
 * largest plaintext the caller can carry), and never less than `n` (a longer one is the caller's
 * to refuse). Throws TypeError for a negative or fractional `n`.
 */
export function paddedLength(n: number, max: number = Number.POSITIVE_INFINITY): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError(`a length must be a whole number of bytes, got ${n}`);
  let floorPow = 1; // the power of two at or below n (exact, unlike Math.log2)
  while (floorPow * 2 <= n) floorPow *= 2;
  const step = Math.max(PAD_MIN_BYTES, floorPow / STEPS_PER_DOUBLING);
  const bucket = Math.max(step, Math.ceil(n / step) * step);
  return Math.max(n, Math.min(bucket, max));
}

/** `plaintext` (JSON: it must not end in a space) with spaces appended up to paddedLength(length, max). */
export function pad(plaintext: Uint8Array, max?: number): Buffer {
  const out = Buffer.alloc(paddedLength(plaintext.length, max), SPACE);
  out.set(plaintext, 0);
  return out;
}

/** `padded` without its trailing spaces (a view, not a copy): what pad was given. */
export function unpad(padded: Buffer): Buffer {
  let end = padded.length;
  while (end > 0 && padded[end - 1] === SPACE) end -= 1;
  return padded.subarray(0, end);
}
