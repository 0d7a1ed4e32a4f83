// A shared code selection in a message: the file and lines as a link that opens them in the
// reader's workspace (the host decides whether it may; it opens the message's code thread there
// when it has one), the language, and the code as text.

import { visible, visibleLines } from '../../protocol/text.ts';
import { VIEW_LIMITS, type Snippet } from '../../protocol/view.ts';
import { actions } from '../actions.ts';

/** A line number from a peer, as shown and asked for: a whole number from 1 to VIEW_LIMITS.snippetLine. */
function lineNumber(n: number): number {
  return Number.isSafeInteger(n) ? Math.min(Math.max(1, n), VIEW_LIMITS.snippetLine) : 1;
}

/** A language id from a peer is a label only: a short word, else "text". */
function languageLabel(id: string): string {
  return /^[A-Za-z0-9_.+#-]{1,32}$/.test(id) ? id : 'text';
}

/**
 * The snippet's header: the file's name and lines first (the link), its language as a label that
 * never wraps, and below them the WHOLE path the link opens (relative to a workspace folder, made
 * visible, wrapped rather than cut: a cut path could hide where the link leads), which the
 * tooltip and accessible name say too. Whether the path may be opened is the host's decision
 * (extension/snippet-path.ts), with a notice if not.
 */
export function SnippetView({ snippet, messageId }: { snippet: Snippet; messageId?: string }) {
  const start = lineNumber(snippet.startLine);
  const end = Math.max(start, lineNumber(snippet.endLine));
  const lines = end > start ? `lines ${start}–${end}` : `line ${start}`;
  const path = visible(snippet.path);
  const slash = path.lastIndexOf('/');
  const file = slash >= 0 && slash < path.length - 1 ? path.slice(slash + 1) : path;
  const label = `Open ${path} at ${lines}, in your workspace`;
  const language = languageLabel(snippet.language);
  return (
    <figure class="snippet">
      <figcaption class="snippet-header">
        <a
          href="#"
          class="snippet-link"
          title={label}
          aria-label={label}
          onClick={(e) => {
            e.preventDefault();
            actions.openSnippet(snippet.path, start, end, messageId);
          }}
        >
          <span class="snippet-title">
            <span class="snippet-file">{file}</span>
            <span class="snippet-line">:{end > start ? `${start}–${end}` : start}</span>
          </span>
          {file !== path && <span class="snippet-path">{path}</span>}
        </a>
        <span class="snippet-lang">{language}</span>
      </figcaption>
      <pre class="snippet-code" data-lang={language}>
        <code>{visibleLines(snippet.code)}</code>
      </pre>
    </figure>
  );
}
