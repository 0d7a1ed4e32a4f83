// The one limit on a message's text, in a module that imports nothing, so the webview bundle
// (which cannot load peer.ts and its node:crypto chain) refuses at the same number the peer wire
// schema enforces (protocol/peer.ts re-exports it; protocol/view.ts VIEW_LIMITS.messageBytes).

/**
 * Message text is Markdown up to 64 KiB of UTF-8 (the original corrupted anything over 255 bytes);
 * a snippet's code, if any, counts toward the same limit.
 */
export const MAX_TEXT_BYTES = 64 * 1024;
