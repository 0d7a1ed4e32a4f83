// What a search answer says when the engine's in-memory search index is full (issue 12,
// peer/search-index.ts maxTotalChars): its oldest messages left it, so a search did not look at
// messages sent before `searchedFrom` (CommandResults['search']). One wording for the view's
// search box, the Search Messages pick and the terminal, so nobody takes "nothing found" for
// "nothing there".

const WHEN = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });

/** "Searched messages since 3 Nov 2026, 14:05: older ones are not in the search index (it is full)." (local time) */
export function searchedFromNote(searchedFrom: number): string {
  const since = Number.isFinite(searchedFrom) && Math.abs(searchedFrom) <= 8.64e15 ? `since ${WHEN.format(searchedFrom)}` : 'from the newest back only';
  return `Searched messages ${since}: older ones are not in the search index (it is full).`;
}
