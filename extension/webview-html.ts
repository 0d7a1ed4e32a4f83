// The sidebar's HTML and its Content-Security-Policy: nothing but our own bundle, run by nonce,
// and our own styles and codicon font; no remote resource of any kind. Pure (no `vscode` import),
// so the webview tests load exactly this page.

export interface WebviewPage {
  /** The webview's CSP source (`webview.cspSource`), or the test server's origin. */
  cspSource: string;
  nonce: string;
  /** URL of a file under dist/ (`asWebviewUri` in VS Code). */
  resource(...path: string[]): string;
  /** Style sheets loaded first (the tests' stand-in for VS Code's theme variables). */
  extraStyles?: string[];
}

export function webviewHtml(page: WebviewPage): string {
  const csp = [
    "default-src 'none'",
    `style-src ${page.cspSource}`,
    `font-src ${page.cspSource}`,
    `img-src ${page.cspSource}`,
    `script-src 'nonce-${page.nonce}'`,
  ].join('; ');
  const extra = (page.extraStyles ?? []).map((href) => `\n  <link rel="stylesheet" href="${href}">`).join('');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">${extra}
  <link rel="stylesheet" href="${page.resource('codicons', 'codicon.css')}" id="vscode-codicon-stylesheet">
  <link rel="stylesheet" href="${page.resource('webview.css')}">
  <title>P2P Chat</title>
</head>
<body>
  <div id="root"></div>
  <script nonce="${page.nonce}" src="${page.resource('webview.js')}"></script>
</body>
</html>`;
}
