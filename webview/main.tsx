// The webview's entry (bundled to dist/webview.js and dist/webview.css by scripts/build.mjs).
// acquireVsCodeApi() may be called only once per page; the state connects to it, then the view
// renders and says it is ready, and the host answers with a snapshot.

import './styles.css';
import { render } from 'preact';
import { App } from './components/app.tsx';
import { actions, start } from './state.ts';

const vscode = acquireVsCodeApi();
start(vscode);
render(<App />, document.getElementById('root')!);
actions.ready();
