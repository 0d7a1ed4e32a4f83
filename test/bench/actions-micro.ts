// CPU a reaction costs the peers' engines, without processes, links or the machine's scheduling in
// the way (issue 12: reactions must not slow plain messages down). `node --import tsx
// test/bench/actions-micro.ts [--reps N]` over a real store.db in a temp folder, the same store
// work a peer does, in CPU µs per operation (process.cpuUsage, so other processes on the machine
// count little), median of `--reps` repetitions:
// - receive: a reaction row stored and applied (MessageActions.applied: the receiver's check of the
//   sender's cap, History.add's checks), as a member receives each reaction;
// - send checks: what the `react` command reads before sending (conversation-actions.ts react:
//   the message's state twice, the sender's own reactions) and its own row applied after;
// - show: one message's state (stateOf), as history pages and `message` read it.
// Stores: 'recent' (reactions spread over recent messages, a few on each, as in a lively room),
// 'one' (one member has toggled one message hundreds of times; the others reacted too), and
// 'flood N' for each N of `--flood` (default 20000,100000): a hostile member (member01) has toggled
// 👍 on one message N times, and each rep is one more toggle of theirs (receive: as the others get
// it; send: as their own engine does it). A reaction's cost must not grow with N.

import { parseArgs } from 'node:util';
import type { StoredMessage } from '../../peer/history.ts';
import { MEMBERS, PLAIN_MESSAGES, ROOM, benchStore, cpuUs, median, named, row } from './bench-store.ts';

const { values: flags } = parseArgs({ options: { reps: { type: 'string', default: '400' }, flood: { type: 'string', default: '20000,100000' } } });
const REPS = Number(flags.reps);
const FLOODS = flags.flood.split(',').filter(Boolean).map(Number);
const EMOJI = ['👍', '🎉', '👀', '🚀', '❤️'];

const reaction = (from: string, of: string, emoji: string, on: boolean): StoredMessage => row(from, '', { action: { t: 'react', of, emoji, on } });

async function scenario(kind: 'recent' | 'one' | 'flood', flood = 0): Promise<Record<string, number>> {
  // 2,000 plain messages; reactions already on them.
  const store = benchStore('p2p-actions-micro-', (id) => `message ${id}: the plan for friday`);
  const { db, history, actions, ids } = store;
  const hot = ids.at(-1)!;
  if (kind === 'one') {
    for (let i = 0; i < 600; i++) history.add(reaction('member01', hot, EMOJI[i % 5]!, i % 2 === 0));
    for (const u of MEMBERS) history.add(reaction(u, hot, EMOJI[u.length % 5]!, true));
  } else if (kind === 'flood') {
    for (let i = 0; i < flood; i++) {
      history.add(reaction('member01', hot, '👍', i % 2 === 0));
      if (i % 5000 === 4999) await db.committed();
    }
    for (const u of MEMBERS) history.add(reaction(u, hot, EMOJI[u.length % 5]!, true));
  } else {
    for (let i = 0; i < 1500; i++) history.add(reaction(MEMBERS[i % MEMBERS.length]!, ids[PLAIN_MESSAGES - 1 - (i % 200)]!, EMOJI[i % 5]!, true));
  }
  await db.committed();
  const receive: number[] = [];
  const send: number[] = [];
  const show: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const of = kind === 'recent' ? ids[PLAIN_MESSAGES - 1 - (i % 5)]! : hot;
    const emoji = kind === 'flood' ? '👍' : EMOJI[(i * 7) % 5]!;
    // Received from another member (in a flood: the flooder's next toggle).
    receive.push(cpuUs(() => {
      const row = reaction(kind === 'flood' ? 'member01' : 'member03', of, emoji, i % 3 !== 0);
      history.add(row);
      actions.applied(row, named);
    }));
    // Sent by this member (member01): the react command's reads, then its own row applied.
    send.push(cpuUs(() => {
      const m = history.get(ROOM, of)!;
      actions.stateOf(m);
      actions.reactionsBy(m, 'member01');
      actions.stateOf(m);
      const row = reaction('member01', of, emoji, i % 2 === 0);
      history.add(row);
      actions.applied(row, named);
    }));
    show.push(cpuUs(() => void actions.stateOf(history.get(ROOM, of)!)));
    await db.committed();
  }
  store.close();
  return { receive: median(receive), send: median(send), show: median(show) };
}

for (const [kind, flood] of [['recent', 0], ['one', 0], ...FLOODS.map((n) => ['flood', n] as const)] as const) {
  const r = await scenario(kind, flood);
  process.stdout.write(`${kind}${flood ? ` ${flood}` : ''}: receive a reaction ${r.receive} µs, send one ${r.send} µs, one message's state ${r.show} µs (CPU, median of ${REPS})\n`);
}
