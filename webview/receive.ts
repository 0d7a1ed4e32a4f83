// The ONLY place that applies host notifications to the view's state (webview/state.ts). A pure
// reducer: it never posts; what must follow a notification (reopening the conversation that was
// open before a hide, ending "typing" when the open conversation changes) is done by
// webview/actions.ts. `start` connects both to VS Code.

import { batch, effect } from '@preact/signals';
import type { ConversationId, HostToView, OpenedConversation } from '../protocol/view.ts';
import { afterReceive, connect, disconnect, expectReveal } from './actions.ts';
import { continueReveal } from './conversation-actions.ts';
import { focusComposer, settleFocus } from './focus.ts';
import { store, type RequestPlace } from './state.ts';
import { addItem, appendPage, applyStatus, aroundWindow, prependPage, rowsOf, updateMessage, type TimelineWindow } from './timeline-window.ts';
import { repliesAfterUpdate, searchAfterUpdate } from './updated-elsewhere.ts';
import { readPersisted, toPersisted, type ViewState, type VsCodeApi } from './vscode-api.ts';

function setOpen(next: OpenedConversation | undefined): void {
  batch(() => {
    if (next?.key !== store.open.value?.key) {
      store.pageError.value = undefined;
      store.newerError.value = undefined;
      store.marked.value = undefined;
    }
    store.open.value = next;
    store.rows.value = rowsOf(next);
  });
}

/** The open conversation's window, when it is `key`. */
function windowOf(key: ConversationId): TimelineWindow | undefined {
  const open = store.open.value;
  return open?.key === key ? { open, rows: store.rows.value } : undefined;
}

/** Shows `next` (a changed window of the open conversation); nothing when undefined. */
function setWindow(next: TimelineWindow | undefined): void {
  if (!next) return;
  batch(() => {
    store.open.value = next.open;
    store.rows.value = next.rows;
  });
}

/** Applies one host notification. Exhaustive: a new HostToView type fails to compile here. */
export function receive(message: HostToView): void {
  switch (message.type) {
    case 'host/snapshot': {
      const s = message.snapshot;
      batch(() => {
        store.session.value = s.session;
        store.rooms.value = s.rooms;
        store.directory.value = s.directory;
        store.people.value = s.people;
        setOpen(s.open ? { ...s.open } : undefined);
        if (s.session.user && s.session.state !== 'logged_out') store.loginError.value = undefined;
        store.ready.value = true;
      });
      // A view shown again is a new page: VS Code may have focused it before it could listen
      // ("Focus on Chat View"). Once the snapshot is on the page, the focus goes in.
      if (typeof document !== 'undefined') setTimeout(() => settleFocus(), 0);
      return;
    }
    case 'session/changed':
      batch(() => {
        store.session.value = message.session;
        if (message.session.state === 'online') store.loginError.value = undefined;
      });
      return;
    case 'rooms/changed':
      store.rooms.value = message.rooms;
      return;
    case 'directory/changed':
      store.directory.value = message.directory;
      return;
    case 'people/changed':
      store.people.value = message.people;
      return;
    case 'conversation/opened': {
      const { type: _type, reveal, ...opened } = message;
      batch(() => {
        setOpen(opened);
        // Set with the timeline it goes with: its newest page is never told as seen (actions.ts showsNewest).
        if (reveal !== undefined) store.reveal.value = { key: opened.key, id: reveal };
      });
      return;
    }
    case 'timeline/added': {
      const w = windowOf(message.key);
      if (w) setWindow(addItem(w, message.item));
      return;
    }
    case 'message/delivered':
    case 'message/waiting':
    case 'message/expired': {
      const w = windowOf(message.key);
      if (!w) return;
      const status =
        message.type === 'message/delivered'
          ? { kind: 'delivered' as const, count: message.count, of: message.of }
          : message.type === 'message/waiting'
            ? { kind: 'waiting' as const, waitingFor: message.waitingFor }
            : { kind: 'expired' as const, user: message.user };
      setWindow(applyStatus(w, message.id, status));
      return;
    }
    case 'gaps/changed': {
      const o = store.open.value;
      if (o?.key === message.key) store.open.value = { ...o, gaps: message.gaps };
      return;
    }
    case 'members/changed': {
      const o = store.open.value;
      if (o?.key === message.key) store.open.value = { ...o, members: message.members };
      return;
    }
    case 'message/updated': {
      const w = windowOf(message.key);
      batch(() => {
        if (w) setWindow(updateMessage(w, message.message));
        // Its text is shown in search results and the reply bar too: a delete or an edit reaches them.
        store.search.value = searchAfterUpdate(store.search.value, message.key, message.message);
        store.replies.value = repliesAfterUpdate(store.replies.value, message.key, message.message);
      });
      return;
    }
    case 'reads/changed': {
      const o = store.open.value;
      if (o?.key === message.key) store.open.value = { ...o, reads: message.reads };
      return;
    }
    case 'message/revealed':
      // Scrolled to by the timeline once it holds it; conversation-actions.ts asks for a window around it until then.
      store.reveal.value = { key: message.key, id: message.id };
      expectReveal(undefined);
      return;
    case 'typing/changed': {
      const o = store.open.value;
      if (o?.key === message.key) store.open.value = { ...o, typing: message.users };
      return;
    }
    case 'request/completed':
      return completed(message);
    case 'notice/shown':
      // A search result that could not be opened says so here: no reveal is coming.
      expectReveal(undefined);
      store.error.value = { message: message.message, ...(message.code ? { code: message.code } : {}) };
      return;
    case 'focus/requested':
      focusComposer();
      return;
    default: {
      const unhandled: never = message;
      console.warn('p2p-chat view: unknown host message', unhandled);
    }
  }
}

/** A request finished: forget it, and show a failure at the request's own place. */
function completed(message: Extract<HostToView, { type: 'request/completed' }>): void {
  const request = store.pending.value.get(message.requestId);
  batch(() => {
    if (request) {
      const pending = new Map(store.pending.value);
      pending.delete(message.requestId);
      store.pending.value = pending;
    }
    const place = request?.place ?? { kind: 'bar' };
    const error = message.ok ? undefined : { message: message.error?.message ?? 'That did not work.', ...(message.error?.code ? { code: message.error.code } : {}) };
    if (place.kind === 'search') {
      // Only the latest query's answer is shown: an older one arriving late is stale.
      const search = store.search.value;
      if (search.latest === message.requestId) {
        store.search.value = message.ok
          ? { ...search, latest: undefined, results: message.results ?? [], answered: search.asked, searchedFrom: message.searchedFrom, error: undefined, active: 0 }
          : { ...search, latest: undefined, results: [], answered: search.asked, searchedFrom: undefined, error: error?.message, active: 0 };
      }
    } else if (place.kind === 'page') {
      const w = message.page ? windowOf(message.page.key) : undefined;
      if (w && message.page) setWindow(place.dir === 'older' ? prependPage(w, message.page) : appendPage(w, message.page));
      if (place.dir === 'older') store.pageError.value = error?.message;
      else store.newerError.value = error?.message;
    } else if (place.kind === 'around') {
      const w = message.page ? windowOf(message.page.key) : undefined;
      if (w && message.page) setWindow(aroundWindow(w, message.page));
      if (error) {
        // Not found here (never arrived, or deleted): said in the bar; the timeline stays as it was.
        store.error.value = error;
        if (store.reveal.value?.id === place.id) store.reveal.value = undefined;
      }
    } else if (place.kind === 'login') {
      store.loginError.value = error;
    } else if (place.kind === 'join') {
      const errors = new Map(store.joinErrors.value);
      if (error) errors.set(place.room, error.message);
      else errors.delete(place.room);
      store.joinErrors.value = errors;
      // Joined: the room is open; typing goes to it at once (the focus was on the Join button, now gone).
      if (!error) focusComposer();
    } else if (place.kind === 'forcible' && error?.code === 'room.undelivered') {
      store.refusedAsUndelivered.value = { key: place.key, action: place.action, message: error.message };
    } else if (place.kind === 'send' && error) {
      store.error.value = { ...error, message: `${error.message} Your message was not sent: it is back in the message box.` };
      restoreDraft(place);
    } else if (error) {
      store.error.value = error;
    } else if (request?.type === 'conversation/openDirect') {
      focusComposer();
    }
  });
}

/** An unsent message goes back to its conversation's box: before what was typed since, and with its reply if none was begun since. */
function restoreDraft(place: Extract<RequestPlace, { kind: 'send' }>): void {
  const drafts = new Map(store.drafts.value);
  const now = drafts.get(place.key) ?? '';
  drafts.set(place.key, now.trim() ? `${place.text}\n${now}` : place.text);
  store.drafts.value = drafts;
  if (place.reply && !store.replies.value.has(place.key)) store.replies.value = new Map(store.replies.value).set(place.key, place.reply);
}

function isHostMessage(data: unknown): data is HostToView {
  return typeof data === 'object' && data !== null && typeof (data as { type?: unknown }).type === 'string';
}

/**
 * Connects the state to VS Code: restores what setState kept, listens for host notifications and
 * keeps the persisted part saved. Returns the cleanup. Call before posting `view/ready`, so the
 * snapshot that answers it cannot be missed.
 */
export function start(vscode: VsCodeApi, target: Pick<Window, 'addEventListener' | 'removeEventListener'> = window): () => void {
  const saved = readPersisted(vscode.getState());
  batch(() => {
    store.drafts.value = saved.drafts;
    store.loginFields.value = saved.login;
    store.collapsed.value = saved.collapsed;
    store.membersOpen.value = saved.membersOpen;
  });
  const restoreKey = connect(vscode, saved.openKey);
  const onMessage = (event: MessageEvent): void => {
    if (!isHostMessage(event.data)) return;
    receive(event.data);
    afterReceive(event.data);
    continueReveal();
  };
  target.addEventListener('message', onMessage as EventListener);
  const stopSaving = effect(() => {
    const state: ViewState = { drafts: store.drafts.value, login: store.loginFields.value, collapsed: store.collapsed.value, membersOpen: store.membersOpen.value };
    const key = store.open.value?.key ?? restoreKey();
    if (key !== undefined) state.openKey = key;
    vscode.setState(toPersisted(state));
  });
  return () => {
    target.removeEventListener('message', onMessage as EventListener);
    stopSaving();
    disconnect();
  };
}
