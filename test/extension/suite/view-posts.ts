// What the extension sends its view, seen by the tests: api.view.post wrapped while a test's
// requests run, and put back after.

import type { ExtensionApi } from '../../../extension/extension.ts';
import type { HostToView } from '../../../protocol/view.ts';

/** Runs `work` while every message posted to the view is also pushed to `seen` (given to it, and returned). */
export async function postsDuring(api: ExtensionApi, work: (seen: HostToView[]) => Promise<void>): Promise<HostToView[]> {
  const seen: HostToView[] = [];
  const post = api.view.post.bind(api.view);
  api.view.post = (m: HostToView) => {
    seen.push(m);
    post(m);
  };
  try {
    await work(seen);
  } finally {
    api.view.post = post;
  }
  return seen;
}
