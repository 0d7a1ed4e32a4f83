// Waiting inside the extension host for what the extension does by itself (a session online, a
// thread moved, a view shown): the condition polled, and a timeout that says what never came.

/** Resolves when `condition()` holds; throws after `timeoutMs`, naming `what`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
