// The view's requests on messages (issue 12): reply, react, edit, delete, search, and opening a
// conversation at a message. The engine checks and sends
// each action (peer/engine.ts); what I did is shown at once, since the engine does not echo my
// own actions (MessageUpdates.changed).

import type { ChatEngine } from '../peer/engine.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { isDmRoom, type ConversationId } from '../protocol/peer.ts';
import type { HostToView, SearchAnswer } from '../protocol/view.ts';
import type { ChatModel } from './chat-model.ts';

export interface ActionsHost {
  /** The signed-in engine (throws in words when nobody is signed in). */
  engine(): ChatEngine;
  readonly model: ChatModel;
  /** Shows the chat view. */
  reveal(): Promise<void>;
  post(m: HostToView): void;
}

export class ConversationActions {
  constructor(private readonly host: ActionsHost) {}

  /** Sends `text` answering message `to` of `key`, shown at once with its quote. */
  async reply(key: ConversationId, to: string, text: string): Promise<void> {
    const sent = await this.host.engine().reply({ room: key }, to, text);
    if (isDmRoom(key)) this.host.model.keepDirect(key);
    this.host.model.addOwnMessage(key, { id: sent.messageId, text, sentAt: sent.sentAt, recipients: sent.recipients, replyTo: to });
  }

  /** Puts (`on`) or takes back my reaction `emoji` on message `id` of `key`. */
  async react(key: ConversationId, id: string, emoji: string, on: boolean): Promise<void> {
    const engine = this.host.engine();
    await engine.react({ room: key }, id, emoji, on);
    this.host.model.updates.changed(key, id, { t: 'reaction', user: engine.user!, emoji, on });
  }

  /** Changes the text of my message `id` of `key` (the engine refuses anyone else's). */
  async edit(key: ConversationId, id: string, text: string): Promise<void> {
    await this.host.engine().edit({ room: key }, id, text);
    this.host.model.updates.changed(key, id, { t: 'edited', text });
  }

  /** Deletes my message `id` of `key` for every member. */
  async remove(key: ConversationId, id: string): Promise<void> {
    await this.host.engine().deleteMessage({ room: key }, id);
    this.host.model.updates.changed(key, id, { t: 'deleted' });
  }

  /**
   * Messages of every conversation (or `key`'s) containing `query`, newest first, as the view lists
   * them; `searchedFrom` when the engine's index is full (older messages were not searched).
   */
  async search(query: string, key?: ConversationId, limit?: number): Promise<SearchAnswer> {
    const engine = this.host.engine();
    const { results, searchedFrom } = await engine.search(query, { ...(key !== undefined ? { room: key } : {}), ...(limit !== undefined ? { limit } : {}) });
    const titles = new Map(this.host.model.roomItems().map((r) => [r.key, r.title]));
    const hits = results.map((r) => ({ key: r.roomId, title: titles.get(r.roomId) ?? r.room, id: r.id, from: r.from, text: r.text, sentAt: r.sentAt }));
    return { results: hits, ...(searchedFrom !== undefined ? { searchedFrom } : {}) };
  }

  /**
   * Opens conversation `key` in the view at message `id` (a search result, a code thread's "show
   * in chat"): the view scrolls to it, asking for a window around it if needed (`message/revealed`).
   * `reveal`: show the view first (not when the view itself asked: it is on screen).
   */
  async open(key: ConversationId, id: string, reveal = true): Promise<void> {
    const engine = this.host.engine();
    const model = this.host.model;
    // A direct conversation of mine found by search may not be listed yet (kept from now on).
    if (isDmRoom(key) && key.split(':').slice(1).includes(engine.user!)) model.keepDirect(key);
    if (!model.roomItems().some((r) => r.key === key)) throw new ProtocolError('room.not_member', 'That conversation is not one of yours on this device any more (left or closed).');
    await model.openConversation(key, id);
    if (reveal) await this.host.reveal();
    this.host.post({ type: 'message/revealed', key, id });
  }
}
