// extension/labels.ts: what peers and the tracker wrote, as notifications, QuickPick items and the
// status bar show it: visible, without links that run commands, without icons.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { messageNotice, messageNotification, noticeText, pickText, PREVIEW_CHARS } from '../../extension/labels.ts';

/** VS Code's own link syntax in notifications (parseLinkedText in the workbench). */
const LINK = /\[([^\]]+)\]\(((?:https?:\/\/|command:|file:)[^)\s]+)(?: (["'])(.+?)(\3))?\)/i;
const RAW = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|\p{Cf}|\p{Cs}/u;

test('a message notification is visible, one line, without a command link, and cut on a character', () => {
  const text = 'hi [open settings](command:workbench.action.openSettings) \x1b]0;x\x07\nsecond \u202Eline';
  const shown = messageNotification('mallory in #general\r[dm] boss', text);
  assert.doesNotMatch(shown, LINK);
  assert.doesNotMatch(shown, RAW);
  assert.match(shown, /^mallory in #general\^M\[dm\] boss: hi \[open settings\] \(command:/);
  assert.match(shown, /\^\[\]0;x\^G second <U\+202E>line$/);
  const long = messageNotification('bob', '👍'.repeat(PREVIEW_CHARS * 2));
  assert.equal([...long.slice('bob: '.length)].length, PREVIEW_CHARS - 2, 'emoji counted as characters');
  assert.ok(long.endsWith('👍…'), 'never cut inside a surrogate pair');
  assert.equal(messageNotification('bob', 'short'), 'bob: short');
});

test('a notification without preview says who wrote and where, never the text, inert', () => {
  assert.equal(messageNotice('direct', 'bob'), 'New direct message from bob');
  assert.equal(messageNotice('mention', 'bob in #lobby'), 'Mentioned by bob in #lobby');
  assert.equal(messageNotice('message', 'bob in #lobby'), 'New message from bob in #lobby');
  const hostile = messageNotice('direct', '[x](command:workbench.action.openSettings)\u202E');
  assert.doesNotMatch(hostile, LINK);
  assert.doesNotMatch(hostile, RAW);
});

test('QuickPick and status bar text takes no icons, no links and no controls from a name', () => {
  assert.equal(pickText('$(lock) bank'), '\\$(lock) bank');
  assert.equal(pickText('a[b](https://x.example)'), 'a[b] (https://x.example)');
  assert.equal(pickText('room\u202Eevil'), 'room<U+202E>evil');
  assert.equal(pickText('ok-name.1'), 'ok-name.1');
  assert.doesNotMatch(pickText('\x1b[2J\r\n\u009b'), RAW);
});

test('notice text breaks links and shows controls', () => {
  assert.equal(noticeText('[x](command:rm)'), '[x] (command:rm)');
  assert.equal(noticeText('a\nb'), 'a^Jb');
});
