// The open conversation: header with its actions, the member list when shown, the timeline,
// who is typing, and the composer.

import { useRef, useState } from 'preact/hooks';
import type { RoomItem } from '../../protocol/view.ts';
import { actions } from '../actions.ts';
import { model } from '../state.ts';
import { Composer, TypingIndicator } from './composer.tsx';
import { ConfirmBar } from './confirm-bar.tsx';
import { GapNotices } from './gaps.tsx';
import { Icon, IconButton } from './icon.tsx';
import { MemberList } from './members.tsx';
import { Timeline } from './timeline.tsx';
import { visible } from '../../protocol/text.ts';

function ChatHeader({ conversation, room, title, direct, iAmOwner }: { conversation: string; room: RoomItem | undefined; title: string; direct: boolean; iAmOwner: boolean }) {
  const count = model.members.value.length;
  const membersOpen = model.membersOpen.value;
  const [confirm, setConfirm] = useState<'leave' | 'close' | undefined>();
  const refused = model.refusedAsUndelivered.value;
  return (
    <>
      <header class="chat-header">
        <Icon name={direct ? 'person' : room?.private ? 'lock' : 'comment-discussion'} />
        <h2 class="chat-title" id="chat-title">
          {title}
        </h2>
        {room?.private && !direct && <span class="sr-only">(private)</span>}
        {room?.forked && <Icon name="warning" class="warning-icon" label="History conflict: some members see a different history of this room" />}
        <span class="muted member-count">
          {count} {count === 1 ? 'member' : 'members'}
        </span>
        <div class="chat-actions" role="group" aria-label="Conversation actions">
          <IconButton
            icon="organization"
            label={membersOpen ? 'Hide members' : 'Show members'}
            expanded={membersOpen}
            controls="member-list"
            onClick={() => actions.setMembersOpen(!membersOpen)}
          />
          {!direct && <IconButton icon="sign-out" label={`Leave ${title}`} onClick={() => setConfirm('leave')} />}
          {!direct && iAmOwner && <IconButton icon="trash" label={`Close ${title} for everyone`} onClick={() => setConfirm('close')} />}
        </div>
      </header>
      {confirm === 'leave' && (
        <ConfirmBar text={`Leave ${title}? You can join it again later.`} confirmLabel="Leave" onConfirm={() => actions.leaveRoom(conversation)} onCancel={() => setConfirm(undefined)} />
      )}
      {refused?.key === conversation && (
        <ConfirmBar
          text={`${refused.message}.`}
          confirmLabel={refused.action === 'leave' ? 'Leave anyway' : 'Close anyway'}
          onConfirm={() => (refused.action === 'leave' ? actions.leaveRoom(conversation, true) : actions.closeRoom(conversation, true))}
          onCancel={() => actions.keepRoom()}
        />
      )}
      {confirm === 'close' && (
        <ConfirmBar text={`Close ${title} for everyone? This cannot be undone.`} confirmLabel="Close room" onConfirm={() => actions.closeRoom(conversation)} onCancel={() => setConfirm(undefined)} />
      )}
    </>
  );
}

export function Chat() {
  const conversation = model.openKey.value;
  const room = model.openRoom.value;
  const open = model.open.value;
  const me = model.me.value;
  const membersOpen = model.membersOpen.value;
  const timeline = useRef<Timeline>(null);
  if (conversation === undefined) {
    return (
      <div class="no-chat muted">
        <p>Pick a room or a person to start chatting.</p>
        <div class="no-chat-actions">
          <button type="button" class="secondary small" onClick={() => actions.runCommand('p2pChat.joinRoom')}>
            <Icon name="comment-discussion" /> Join Room
          </button>
          <button type="button" class="secondary small" onClick={() => actions.runCommand('p2pChat.directMessage')}>
            <Icon name="mail" /> Direct Message
          </button>
        </div>
      </div>
    );
  }
  // The host names the conversation (the view never parses its id). Only shown (headers,
  // labels): made visible, since a peer or the tracker chose it.
  const direct = open?.direct ?? room?.direct ?? false;
  const title = visible(room?.title ?? open?.title ?? conversation);
  // The member list is the fresher word on ownership (it changes with the room's log); the room
  // item's owner stands in until the members arrive.
  const members = model.members.value;
  const iAmOwner = !direct && me !== undefined && (members.length ? members.some((m) => m.owner && m.user === me) : room?.owner === me);
  return (
    <main class="chat" aria-labelledby="chat-title" data-key={conversation}>
      <ChatHeader conversation={conversation} room={room} title={title} direct={direct} iAmOwner={iAmOwner} />
      {membersOpen && <MemberList conversation={conversation} title={title} direct={direct} iAmOwner={iAmOwner} />}
      <Timeline ref={timeline} label={direct ? `Conversation with ${title}` : `Messages in ${title}`} />
      <GapNotices />
      <TypingIndicator />
      <Composer key={conversation} conversation={conversation} title={title} onEscape={() => timeline.current?.focus()} />
    </main>
  );
}
