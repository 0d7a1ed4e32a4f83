// What a search answer says when the engine's in-memory search index is full (issue 12,
// peer/search-index.ts maxTotalChars): messages left it, so a search looked at every message sent
// from `searchedFrom` on (CommandResults['search']) but at older ones only in part: the index lets
// go of the oldest messages of the sender holding the most in the conversation holding the most,
// so in a flooded room the flooder's older messages are gone and the other members' stay. One
// wording for the view's search box, the Search Messages pick and the terminal, so nobody takes
// "nothing found" for "nothing there", nor "found" for "all found".

const WHEN = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });

/**
 * "Searched all messages since 3 Nov 2026, 14:05; some older ones are not in the search index (it
 * is full: whoever sent the most loses their oldest first)." (local time; `searchedFrom` in ms)
 */
export function searchedFromNote(searchedFrom: number): string {
  const since = Number.isFinite(searchedFrom) && Math.abs(searchedFrom) <= 8.64e15 ? `all messages since ${WHEN.format(searchedFrom)}` : 'the newest messages only';
  return `Searched ${since}; some older ones are not in the search index (it is full: whoever sent the most loses their oldest first).`;
}
