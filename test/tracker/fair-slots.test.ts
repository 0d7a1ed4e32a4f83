// tracker/rate-limit.ts FairSlots: bcrypt work shared in turn between addresses (issue 7 F5: a
// stranger guessing names from one address must not hold anyone else's login, and no address is
// locked), names known at an address first, and a bounded queue per address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FairSlots } from '../../tracker/rate-limit.ts';

/** A job that records its start and finishes when released. */
function jobs() {
  const started: string[] = [];
  const releases: (() => void)[] = [];
  const job = (name: string) => () => {
    started.push(name);
    return new Promise<void>((resolve) => releases.push(resolve));
  };
  /** Finishes the oldest running job and lets the slots hand on (a few microtask turns). */
  const finishOne = async () => {
    releases.shift()!();
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };
  return { started, job, finishOne };
}

const full = () => new Error('full');

test('a freed slot goes to the next address in turn: one address with many queued cannot starve another', async () => {
  const slots = new FairSlots(1, 100);
  const { started, job, finishOne } = jobs();
  const runs = [];
  for (let i = 0; i < 5; i++) runs.push(slots.run('10.0.0.1', job(`flood${i}`), { full }));
  runs.push(slots.run('10.0.0.2', job('colleague'), { full }));
  await finishOne();
  await finishOne();
  // The flood's first ran; then the colleague, not the flood's four others.
  assert.deepEqual(started, ['flood0', 'flood1', 'colleague']);
  for (let i = 0; i < 4; i++) await finishOne();
  await Promise.all(runs);
  assert.deepEqual(started, ['flood0', 'flood1', 'colleague', 'flood2', 'flood3', 'flood4']);
});

test('within an address, a name known there (urgent) goes ahead of the guesses; a full queue is refused, not waited', async () => {
  const slots = new FairSlots(1, 3);
  const { started, job, finishOne } = jobs();
  const runs = [slots.run('10.0.0.1', job('running'), { full })];
  for (let i = 0; i < 2; i++) runs.push(slots.run('10.0.0.1', job(`guess${i}`), { full }));
  runs.push(slots.run('10.0.0.1', job('known'), { urgent: true, full }));
  await assert.rejects(slots.run('10.0.0.1', job('over'), { full }), /full/);
  // Another address is not affected by that address's full queue.
  runs.push(slots.run('10.0.0.2', job('other'), { full }));
  await finishOne();
  assert.deepEqual(started, ['running', 'known']);
  for (let i = 0; i < 4; i++) await finishOne();
  await Promise.all(runs);
  assert.deepEqual(started, ['running', 'known', 'other', 'guess0', 'guess1']);
});
