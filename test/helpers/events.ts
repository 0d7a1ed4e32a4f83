// Waiting for what the tracker pushes, without sleeps (STYLE.md "Tests"): await the event itself,
// and show that something did not happen by awaiting a later marker instead.

import assert from 'node:assert/strict';
import { ProtocolError, type ErrorCode } from '../../protocol/errors.ts';
import type { TrackerEvent } from '../../protocol/tracker.ts';
import type { TrackerConnection } from '../../peer/tracker-connection.ts';

export const EVENT_TIMEOUT_MS = 5_000;

type EventName = TrackerEvent['event'];
export type EventOf<K extends EventName> = Extract<TrackerEvent, { event: K }>;

/**
 * The next event that satisfies `predicate` (events that do not are skipped). Rejects if the
 * connection closes first or after `timeoutMs`. Give an event name to match only on it:
 * `nextEvent(conn, 'presence', (e) => e.user === 'bob')`.
 */
export function nextEvent<K extends EventName>(
  conn: TrackerConnection,
  name: K,
  predicate?: (e: EventOf<K>) => boolean,
  timeoutMs?: number,
): Promise<EventOf<K>>;
export function nextEvent<E extends TrackerEvent>(
  conn: TrackerConnection,
  predicate: (e: TrackerEvent) => e is E,
  timeoutMs?: number,
): Promise<E>;
export function nextEvent(
  conn: TrackerConnection,
  predicate: (e: TrackerEvent) => boolean,
  timeoutMs?: number,
): Promise<TrackerEvent>;
export function nextEvent(
  conn: TrackerConnection,
  first: EventName | ((e: TrackerEvent) => boolean),
  second?: ((e: never) => boolean) | number,
  third?: number,
): Promise<TrackerEvent> {
  let match: (e: TrackerEvent) => boolean;
  let timeoutMs: number;
  let what: string;
  if (typeof first === 'string') {
    const inner = second as ((e: TrackerEvent) => boolean) | undefined;
    match = (e) => e.event === first && (!inner || inner(e));
    timeoutMs = third ?? EVENT_TIMEOUT_MS;
    what = `a ${first} event${inner ? ` matching ${inner.toString()}` : ''}`;
  } else {
    match = first;
    timeoutMs = (second as number | undefined) ?? EVENT_TIMEOUT_MS;
    what = `an event matching ${first.toString()}`;
  }
  return new Promise((resolve, reject) => {
    const seen: string[] = [];
    const done = (fn: () => void) => {
      clearTimeout(timer);
      conn.off('event', onEvent);
      conn.off('close', onClose);
      fn();
    };
    const onEvent = (e: TrackerEvent) => {
      let ok: boolean;
      try {
        ok = match(e);
      } catch (err) {
        return done(() => reject(err));
      }
      if (ok) done(() => resolve(e));
      else seen.push(JSON.stringify(e).slice(0, 300));
    };
    const onClose = (reason?: Error) =>
      done(() => reject(new Error(`the connection closed${reason ? ` (${reason.message})` : ''} before ${what}`)));
    const timer = setTimeout(
      () => done(() => reject(new Error(`no ${what} within ${timeoutMs} ms; saw ${seen.length ? seen.join('\n  ') : 'no events'}`))),
      timeoutMs,
    );
    if (conn.closed) return onClose(undefined);
    conn.on('event', onEvent);
    conn.on('close', onClose);
  });
}

/**
 * Records every event while `marker` runs (e.g. `() => conn.request('ping', {})` on the same
 * connection, whose answer the tracker sends after anything it pushed before), then asserts none
 * matched. Returns all the events seen, for further checks.
 */
export async function expectNoEvent(
  conn: TrackerConnection,
  predicate: (e: TrackerEvent) => boolean,
  marker: () => Promise<unknown>,
): Promise<TrackerEvent[]> {
  const seen: TrackerEvent[] = [];
  const onEvent = (e: TrackerEvent) => seen.push(e);
  conn.on('event', onEvent);
  try {
    await marker();
  } finally {
    conn.off('event', onEvent);
  }
  const hit = seen.find(predicate);
  assert.equal(hit, undefined, `expected no event matching ${predicate.toString()}, got ${JSON.stringify(hit)}`);
  return seen;
}

/** Asserts that `promise` rejects with a ProtocolError of `code`, and returns that error. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<ProtocolError> {
  let value: unknown;
  try {
    value = await promise;
  } catch (err) {
    if (!(err instanceof ProtocolError)) {
      assert.fail(`expected a ProtocolError with code ${code}, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    }
    assert.equal(err.code, code, `expected code ${code}, got ${err.code} (${err.message})`);
    return err;
  }
  return assert.fail(`expected a ProtocolError with code ${code}, but it resolved with ${JSON.stringify(value)?.slice(0, 300)}`);
}
