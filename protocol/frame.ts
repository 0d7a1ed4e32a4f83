// One length-prefixed codec for every TCP stream (DESIGN.md "Wire: frames"): a 4-byte big-endian
// length, then that many bytes of UTF-8 JSON. The decoder copes with frames split across reads and
// several frames in one read (the original assumed one 256-byte read was one message), and refuses
// a declared length over its cap before buffering it.

import { ProtocolError } from './errors.ts';

export const HEADER_BYTES = 4;
/** Requests to the tracker are small; a bigger frame is an attack or a bug. */
export const TRACKER_FRAME_LIMIT = 64 * 1024;
/** Peer frames carry a 64 KiB message plus envelope and signatures. */
export const PEER_FRAME_LIMIT = 1024 * 1024;
/** Tracker answers (room logs, user lists) are bigger than requests but still bounded. */
export const TRACKER_RESPONSE_LIMIT = 16 * 1024 * 1024;

export function encodeFrame(value: unknown, limit: number = PEER_FRAME_LIMIT): Buffer {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  if (body.length > limit) {
    throw new ProtocolError('request.too_large', `frame of ${body.length} bytes is over the ${limit}-byte limit`);
  }
  const frame = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, HEADER_BYTES);
  return frame;
}

/**
 * Incremental decoder. `push` returns the complete frames' parsed JSON values.
 * It throws ProtocolError('request.too_large') for an oversized header and
 * ProtocolError('request.invalid') for bytes that are not UTF-8 JSON; after a throw the
 * stream is out of sync and must be closed.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** An error met after good frames in the same push: those are returned first, it is thrown next. */
  private deferred?: ProtocolError;

  constructor(private readonly limit: number) {}

  /**
   * A frame of invalid JSON is consumed whole, so after that error the stream is still in sync
   * and `push(Buffer.alloc(0))` goes on with the frames behind it. After `request.too_large` it
   * is not.
   */
  push(chunk: Buffer): unknown[] {
    if (chunk.length) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    if (this.deferred) {
      const err = this.deferred;
      this.deferred = undefined;
      throw err;
    }
    const out: unknown[] = [];
    for (;;) {
      if (this.buffered < HEADER_BYTES) return out;
      const head = this.peek(HEADER_BYTES);
      const length = head.readUInt32BE(0);
      try {
        if (length > this.limit) {
          throw new ProtocolError('request.too_large', `frame of ${length} bytes is over the ${this.limit}-byte limit`);
        }
        if (this.buffered < HEADER_BYTES + length) return out;
        out.push(parseJson(this.take(HEADER_BYTES + length).subarray(HEADER_BYTES)));
      } catch (err) {
        if (!out.length) throw err;
        this.deferred = err as ProtocolError;
        return out;
      }
    }
  }

  /** Bytes held for an incomplete frame. */
  get pending(): number {
    return this.buffered;
  }

  private peek(n: number): Buffer {
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0].subarray(0, n);
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const taken = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return taken;
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function parseJson(bytes: Buffer): unknown {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    throw new ProtocolError('request.invalid', 'frame is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ProtocolError('request.invalid', 'frame is not valid JSON');
  }
}
