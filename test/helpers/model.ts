// A model of one room's membership for property tests (test/peer/rooms-property.test.ts), and the
// random scenarios run against it. Scenarios are generated as abstract actions whose indices are
// resolved against the model's state when they run (`RoomModel.plan`), so every generated (and
// every shrunk) list of actions is valid: an action that cannot apply (no one online to send, a
// kick while the owner is offline, ...) is skipped.
//
// Membership follows DESIGN.md "Rooms": members in join order; the creator owns the room, and when
// the owner leaves, ownership passes to the longest-standing member (the first in join order), so
// the owner is always `members[0]`. Only the owner kicks. The model never empties the room.

import fc from 'fast-check';

export type Action =
  | { kind: 'send'; who: number }
  /** Several sends issued at once, none awaiting another (senders may repeat). */
  | { kind: 'burst'; who: number[] }
  | { kind: 'join'; who: number }
  /** Several joins issued at once: they race for the log's head on the tracker. */
  | { kind: 'joinBurst'; who: number[] }
  | { kind: 'leave'; who: number }
  /** The owner kicks a member. */
  | { kind: 'kick'; who: number }
  /** An engine goes offline (close()). */
  | { kind: 'drop'; who: number }
  /** An engine that went offline comes back: a new ChatEngine on its data folder, resume(). */
  | { kind: 'revive'; who: number };

/** An action resolved against the model: names, not indices. */
export type Step =
  | { kind: 'send'; from: string }
  | { kind: 'burst'; from: string[] }
  | { kind: 'join'; user: string }
  | { kind: 'joinBurst'; users: string[] }
  | { kind: 'leave'; user: string }
  | { kind: 'kick'; by: string; user: string }
  | { kind: 'drop'; user: string }
  | { kind: 'revive'; user: string };

export interface Scenario {
  /** The engines taking part (3 to 6 of the pool); the first creates the room. */
  users: string[];
  /** Members who join one by one before the actions start. */
  initial: number;
  actions: Action[];
}

/** Most actions per run, the initial joins included. */
export const MAX_ACTIONS = 12;

const index = fc.nat({ max: 5 });

export const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('send' as const), who: index }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('burst' as const), who: fc.array(index, { minLength: 2, maxLength: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('join' as const), who: index }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('joinBurst' as const), who: fc.array(index, { minLength: 2, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('leave' as const), who: index }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('kick' as const), who: index }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('drop' as const), who: index }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('revive' as const), who: index }) },
);

export function scenarioArb(pool: readonly string[]): fc.Arbitrary<Scenario> {
  return fc
    .record({
      users: fc.shuffledSubarray([...pool], { minLength: 3, maxLength: Math.min(6, pool.length) }),
      initial: fc.nat({ max: 2 }),
      actions: fc.array(actionArb, { maxLength: MAX_ACTIONS }),
    })
    .map(({ users, initial, actions }) => {
      const joins = Math.min(initial, users.length - 1);
      return { users, initial: joins, actions: actions.slice(0, MAX_ACTIONS - joins) };
    });
}

/** Keeps at least this many of the run's engines online, so there is always someone to talk to. */
const MIN_ONLINE = 2;

export class RoomModel {
  /** Members in join order; the owner is members[0]. */
  readonly members: string[];
  readonly online: Set<string>;

  constructor(
    readonly users: readonly string[],
    creator: string,
  ) {
    this.members = [creator];
    this.online = new Set(users);
  }

  get owner(): string | null {
    return this.members[0] ?? null;
  }

  isMember(user: string): boolean {
    return this.members.includes(user);
  }

  isOnline(user: string): boolean {
    return this.online.has(user);
  }

  onlineMembers(): string[] {
    return this.members.filter((u) => this.online.has(u));
  }

  /** Users of the run who are online and not in the room. */
  onlineOutsiders(): string[] {
    return this.users.filter((u) => this.online.has(u) && !this.members.includes(u));
  }

  /** Resolves an abstract action against the current state; undefined when it cannot apply. */
  plan(action: Action): Step | undefined {
    const pick = <T>(list: T[], i: number): T | undefined => (list.length ? list[i % list.length] : undefined);
    switch (action.kind) {
      case 'send': {
        const from = pick(this.onlineMembers(), action.who);
        return from ? { kind: 'send', from } : undefined;
      }
      case 'burst': {
        const senders = this.onlineMembers();
        if (!senders.length) return undefined;
        return { kind: 'burst', from: action.who.map((i) => senders[i % senders.length]) };
      }
      case 'join': {
        const user = pick(this.onlineOutsiders(), action.who);
        return user ? { kind: 'join', user } : undefined;
      }
      case 'joinBurst': {
        const outsiders = this.onlineOutsiders();
        const users = [...new Set(action.who.map((i) => outsiders[i % outsiders.length]).filter(Boolean))] as string[];
        if (users.length === 0) return undefined;
        return users.length === 1 ? { kind: 'join', user: users[0] } : { kind: 'joinBurst', users };
      }
      case 'leave': {
        if (this.members.length < 2) return undefined;
        const user = pick(this.onlineMembers(), action.who);
        return user ? { kind: 'leave', user } : undefined;
      }
      case 'kick': {
        const by = this.owner;
        if (!by || !this.online.has(by)) return undefined;
        const user = pick(this.members.filter((u) => u !== by), action.who);
        return user ? { kind: 'kick', by, user } : undefined;
      }
      case 'drop': {
        const online = this.users.filter((u) => this.online.has(u));
        if (online.length <= MIN_ONLINE) return undefined;
        const user = pick(online, action.who);
        return user ? { kind: 'drop', user } : undefined;
      }
      case 'revive': {
        const user = pick(this.users.filter((u) => !this.online.has(u)), action.who);
        return user ? { kind: 'revive', user } : undefined;
      }
    }
  }

  /**
   * Applies a step. For concurrent joins the tracker decides the order; pass it as `joinOrder`
   * (a permutation of the step's users, checked here).
   */
  apply(step: Step, joinOrder?: string[]): void {
    switch (step.kind) {
      case 'send':
      case 'burst':
        return;
      case 'join':
        this.members.push(step.user);
        return;
      case 'joinBurst': {
        const order = joinOrder ?? step.users;
        if (order.length !== step.users.length || [...order].sort().join() !== [...step.users].sort().join()) {
          throw new Error(`join order ${order.join(',')} is not a permutation of ${step.users.join(',')}`);
        }
        this.members.push(...order);
        return;
      }
      case 'leave':
      case 'kick':
        this.members.splice(this.members.indexOf(step.user), 1);
        return;
      case 'drop':
        this.online.delete(step.user);
        return;
      case 'revive':
        this.online.add(step.user);
        return;
    }
  }
}

export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'send':
      return `${step.from} sends`;
    case 'burst':
      return `concurrent sends from ${step.from.join(', ')}`;
    case 'join':
      return `${step.user} joins`;
    case 'joinBurst':
      return `concurrent joins of ${step.users.join(', ')}`;
    case 'leave':
      return `${step.user} leaves`;
    case 'kick':
      return `${step.by} kicks ${step.user}`;
    case 'drop':
      return `${step.user} goes offline`;
    case 'revive':
      return `${step.user} comes back (resume)`;
  }
}
