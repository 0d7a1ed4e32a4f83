// What the extension host would send: snapshots, conversations and timeline items, built from
// protocol/view.ts types so they cannot drift from the contract.

import type { MemberItem, PersonItem, RoomItem, TimelineItem, TimelineMessage, TimelineNotice, ViewSnapshot } from '../../protocol/view.ts';

export const ME = 'alice';
export const TRACKER = '127.0.0.1:12345';

export function room(key: string, patch: Partial<RoomItem> = {}): RoomItem {
  return { key, title: key, direct: false, private: false, unread: 0, mentions: 0, members: 3, forked: false, ...patch };
}

export function person(user: string, patch: Partial<PersonItem> = {}): PersonItem {
  return { user, online: true, verified: false, keyChanged: false, ...patch };
}

export function member(user: string, patch: Partial<MemberItem> = {}): MemberItem {
  return { user, owner: false, verified: false, online: true, ...patch };
}

export function message(id: string, from: string, text: string, sentAt: number, patch: Partial<TimelineMessage> = {}): TimelineMessage {
  return { kind: 'message', id, from, text, sentAt, mine: from === ME, mentionsMe: false, ...(from === ME ? { delivered: { count: 0, of: 2 } } : {}), ...patch };
}

export function notice(id: string, text: string, time: number, level: TimelineNotice['level'] = 'info'): TimelineNotice {
  return { kind: 'notice', id, text, time, level };
}

export const loggedOut = (detail = 'Log in to chat with your team.'): ViewSnapshot => ({
  session: { state: 'logged_out', tracker: TRACKER, detail },
  rooms: [],
  directory: [],
  people: [],
});

export const GENERAL_MEMBERS: MemberItem[] = [member(ME, { owner: true, verified: true }), member('bob', { verified: true }), member('carol', { online: false })];

export function loggedIn(patch: Partial<ViewSnapshot> = {}): ViewSnapshot {
  return {
    session: { state: 'online', user: ME, tracker: TRACKER, detail: `Signed in as ${ME}` },
    rooms: [room('general', { owner: ME }), room('random', { unread: 4 }), room('secret', { private: true, unread: 2, mentions: 1 })],
    directory: [
      { id: 'id-general', name: 'general', private: false, members: 3, online: 2, member: true },
      { id: 'id-design', name: 'design', private: false, members: 5, online: 1, member: false },
      { id: 'id-vault', name: 'vault', private: true, members: 2, online: 2, member: false },
    ],
    people: [person('bob', { verified: true }), person('carol', { online: false })],
    ...patch,
  };
}

/** Logged in with #general open and the given timeline. */
export function withGeneral(timeline: TimelineItem[], patch: Partial<ViewSnapshot> = {}): ViewSnapshot {
  return loggedIn({ open: { key: 'general', title: 'general', direct: false, timeline, members: GENERAL_MEMBERS, typing: [] }, ...patch });
}
