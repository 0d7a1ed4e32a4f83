// The words a search query marks in its results (webview/highlight.tsx).

/** The words of `query` (at most 16, longest first, so a longer word wins where two overlap). */
export function queryWords(query: string): string[] {
  const words = [...new Set(query.toLowerCase().split(/\s+/).filter(Boolean))];
  return words.slice(0, 16).sort((a, b) => b.length - a.length);
}
