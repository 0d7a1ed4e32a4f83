// Joining a room, from the palette or the view, without VS Code (so tests drive it with a real
// engine). The palette lists the engine's directory, which the engine fetches whole at each sign-in
// and (re)connect and the tracker's pushes keep current between them, so it asks the tracker
// nothing; the pick is joined by its id, which costs no `list_rooms` either (issue 8: one palette
// join used to cost four).

import type { RoomSummary } from '../protocol/tracker.ts';
import type { ChatEngine } from '../peer/engine.ts';
import type { ChatModel } from './chat-model.ts';

/** What the palette asks the user; undefined means they cancelled. */
export interface JoinPrompts {
  pick(rooms: RoomSummary[]): Promise<RoomSummary | undefined>;
  password(room: RoomSummary): Promise<string | undefined>;
  /** There is nothing to join. */
  none(): void;
}

/** Rooms I could join: the engine's directory (no request). */
export async function joinableRooms(engine: ChatEngine): Promise<RoomSummary[]> {
  return engine.directory().filter((r) => !r.member && !r.closed);
}

/** Joins room `id` and opens it. Throws the engine's ProtocolError (room.bad_password, ...). */
export async function joinRoomById(engine: ChatEngine, model: ChatModel, id: string, password?: string): Promise<{ id: string; name: string }> {
  const room = await engine.joinRoom(id, password);
  await model.openConversation(room.id); // posts the conversation list with it
  return room;
}

/** The palette's Join Room: pick, password if private, join by id. Returns the room joined. */
export async function joinFromPalette(engine: ChatEngine, model: ChatModel, prompts: JoinPrompts): Promise<{ id: string; name: string } | undefined> {
  const rooms = await joinableRooms(engine);
  if (!rooms.length) {
    prompts.none();
    return undefined;
  }
  const pick = await prompts.pick(rooms);
  if (!pick) return undefined;
  const password = pick.private ? await prompts.password(pick) : undefined;
  if (pick.private && !password) return undefined;
  return joinRoomById(engine, model, pick.id, password);
}
