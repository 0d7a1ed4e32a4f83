// The webview's entry (bundled to dist/webview.js and dist/webview.css by scripts/build.mjs).
// acquireVsCodeApi() may be called only once per page; the state connects to it, then the view
// renders and says it is ready, and the host answers with a snapshot.

import './styles.css';
import { render } from 'preact';
import { App } from './components/app.tsx';
import { actions } from './actions.ts';
import { trackFocus } from './focus.ts';
import { start } from './receive.ts';
import { installRoving } from './roving.ts';

const vscode = acquireVsCodeApi();
start(vscode);
trackFocus();
installRoving();
render(<App />, document.getElementById('root')!);
// Load the codicon font before saying ready: the font otherwise loads lazily once the snapshot
// renders, and a view hidden while that request is pending reopens only after VS Code's 30 s
// resource timeout (VS Code 1.100 web). Never block on it for long.
Promise.race([document.fonts.load('16px codicon'), new Promise((resolve) => setTimeout(resolve, 2000))])
  .catch(() => undefined)
  .then(() => actions.ready());
