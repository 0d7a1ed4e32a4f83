// Chat mode of the interactive client (`msg_room ROOM` or `msg USER` without text): every line
// typed is sent to one target until /quit, Ctrl-C or the end of stdin. Owns the target, which the
// prompt shows while chatting.

import { PeerText, type Terminal } from './terminal.ts';

export class ChatMode {
  /** `[room]` or `[dm user]` while chatting, made visible by the caller. */
  private label?: string;

  /** `report` prints a failed send; chat mode goes on after it. */
  constructor(
    private readonly term: Terminal,
    private readonly report: (err: unknown) => void,
  ) {}

  /** The prompt while chatting (`[room]> `), else undefined. */
  get prompt(): string | undefined {
    return this.label === undefined ? undefined : `${this.label}> `;
  }

  /** Sends every non-blank line read with `send` until /quit or the end of stdin. */
  async run(label: string, send: (text: string) => Promise<void>): Promise<void> {
    this.term.print(new PeerText(`Chat mode ${label}: each line is sent; /quit leaves.`));
    this.label = label;
    try {
      for (;;) {
        const next = await this.term.read(`${label}> `);
        if (next === null || next.trim() === '/quit') break;
        if (!next.trim()) continue;
        try {
          await send(next);
        } catch (err) {
          this.report(err);
        }
      }
    } finally {
      this.label = undefined;
    }
  }

  /** Ctrl-C at the chat prompt leaves chat mode, as /quit does; false when not chatting there. */
  interrupt(): boolean {
    if (this.label === undefined || this.term.waiting !== 'command') return false;
    return this.term.answer('/quit');
  }
}
