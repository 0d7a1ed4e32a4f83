// Issue 12 in a real VS Code (code-server in Chromium, the extension as built in dist/), a real
// `node tracker`, and `node peer --json` bots.
//
// 1. alice, in room `lobby` with bob (a bot): replies to bob's messages, reacts (the picker, with
//    any emoji, and takes one back), edits and deletes her own messages, each by keyboard (the
//    arrow keys to the message, then R, +, E, Delete) and by mouse (the toolbar); bob's --json
//    client receives each (`message` with replyTo, `reaction`, `edited`, `deleted`, and his
//    history keeps no text of the deleted message). bob reacts, edits and deletes:
//    the window shows the counts with who reacted, "(edited)" and "message deleted". Messages
//    that arrive while alice reads her direct conversation with bob show under a "New messages"
//    line when she opens the lobby again; bob gets her read receipt, and his shows as "Seen by
//    bob". The search box finds bob's old message and Enter opens it in its conversation; so
//    does "P2P Chat: Search Messages". Screenshots dark and light.
// 2. Code threads: a snippet must come from VS Code (a `msg_room` cannot carry one), and the
//    thread must show in ANOTHER person's editor, so two code-servers run, one per user (a
//    second window of the same user would share its one engine). carol shares lines 3-5 of
//    src/app.ts from her window; alice's editor shows a comment thread on those lines (its gutter
//    glyph, the Comments panel's "Ln 3-5", carol's words in the thread), which follows them when
//    lines are inserted above (the timeline's path link then opens lines 5-7), and says "changed"
//    (with the compare view) when they are edited. alice's reply in the thread's box shows in
//    carol's chat as a reply, and carol's reply in the chat shows in alice's thread. Screenshots
//    dark and light.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { CODE_FOLDER, PASSWORDS, ROOM } from './cast.ts';
import {
  arrowToMessage,
  focusedMessage,
  focusOn,
  glyphLines,
  goToLine,
  inTimelineView,
  messageRow,
  openConversation,
  openFile,
  threadGlyphs,
  threadWidget,
  waitForGlyphLines,
} from './conversation-steps.ts';
import { openDevWindow } from './dev-window.ts';
import { signUpAndJoin } from './sign-up.ts';
import { screenshotInThemes } from './themes.ts';
import { answerInputBox, botInRoom, failureReport, focusReplyBox, RESULTS, runCommand, startScene, UI_TIMEOUT_MS, webviewFrame } from './workbench.ts';

/** bob's notes after the message search finds: enough that it is far out of view. */
const FILLERS = 30;
/** bob's messages while alice reads elsewhere: more than the view shows, so the "New messages" line is out of sight. */
const UNREAD = 40;

test('replies, reactions, edits, deletes, the "New messages" line and search, in VS Code with a --json member', { timeout: 420_000 }, async (context) => {
  const { t, dir, step, trackerAddress } = await startScene(context, 'conversations');
  const { bot: bob, ready: bobReady } = botInRoom(t, trackerAddress, join(dir, 'bob'), 'bob', PASSWORDS.bob, ROOM);
  const { page, consoleLines } = await openDevWindow(t, dir, { files: CODE_FOLDER, label: 'alice' });
  try {
    await bobReady;
    await signUpAndJoin(page, { tracker: trackerAddress, user: 'alice', password: PASSWORDS.alice, room: ROOM, member: bob });
    step('alice registered and joined #lobby');

    const say = async (text: string) => (await bob.ok({ cmd: 'msg_room', room: ROOM, text })).messageId as string;
    const target = await say('the flamingo rollout moves to friday');
    const notes: string[] = [];
    for (let i = 1; i <= FILLERS; i++) notes.push(await say(`standup note ${i}`));
    const review = await say('can someone review the parser?');
    const oops = await say('wrong room, ignore this');
    let frame = await openConversation(page, ROOM);
    await messageRow(frame, oops).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    step(`bob wrote ${FILLERS + 3} messages; the last is in the view`);

    // Reply, keyboard only: Up to bob's message, R, type, Enter.
    await arrowToMessage(page, frame, review);
    await page.keyboard.press('r');
    await frame.locator('.reply-bar', { hasText: 'can someone review the parser?' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await focusOn(frame, '.composer-input');
    await page.keyboard.type('on it after lunch');
    await page.keyboard.press('Enter');
    const reply = await bob.event('message', (e) => e.from === 'alice' && e.text === 'on it after lunch');
    assert.equal(reply.replyTo, review, 'bob receives the reply as an answer to his message');
    assert.equal(reply.room, ROOM);
    const replyId = reply.id as string;
    const quote = messageRow(frame, replyId).locator('.reply-quote');
    await quote.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    assert.match(await quote.innerText(), /bob[\s\S]*can someone review the parser\?/);
    step('replied with R: bob received replyTo, the window quotes his message');

    // React, keyboard: +, the picker's first emoji, Enter.
    await arrowToMessage(page, frame, review);
    await page.keyboard.press('+');
    await frame.getByRole('dialog', { name: 'Add a reaction' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await focusOn(frame, '.picker-emoji');
    await page.keyboard.press('Enter');
    const thumbs = await bob.event('reaction', (e) => e.user === 'alice' && e.id === review && e.emoji === '👍');
    assert.equal(thumbs.on, true);
    // React, mouse: the toolbar's React, any emoji typed into the picker's field, React.
    const reviewRow = messageRow(frame, review);
    await reviewRow.hover();
    await reviewRow.getByRole('button', { name: 'Add reaction (+)' }).click();
    const picker = frame.getByRole('dialog', { name: 'Add a reaction' });
    await picker.locator('.picker-input').click();
    await page.keyboard.type('🦜');
    await picker.getByRole('button', { name: 'React', exact: true }).click();
    await bob.event('reaction', (e) => e.user === 'alice' && e.id === review && e.emoji === '🦜' && e.on === true);
    const parrot = reviewRow.locator('.reaction', { hasText: '🦜' });
    await parrot.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    assert.equal(await parrot.locator('.reaction-count').innerText(), '1');
    // Toggled: a click on my own chip takes the reaction back.
    await parrot.click();
    await bob.event('reaction', (e) => e.user === 'alice' && e.id === review && e.emoji === '🦜' && e.on === false);
    await parrot.waitFor({ state: 'detached', timeout: UI_TIMEOUT_MS });
    step('reacted 👍 (keyboard) and 🦜 (mouse, typed), took 🦜 back: bob received each');

    // Edit my reply, keyboard: E, replace the text, Enter.
    await arrowToMessage(page, frame, replyId);
    await page.keyboard.press('e');
    await focusOn(frame, '.edit-input');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('on it after the standup');
    await page.keyboard.press('Enter');
    const edited = await bob.event('edited', (e) => e.id === replyId);
    assert.equal(edited.text, 'on it after the standup');
    const replyRow = messageRow(frame, replyId);
    await replyRow.locator('.edited-mark').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    assert.equal(await replyRow.locator('.message-body').innerText(), 'on it after the standup');
    step('edited my reply with E: bob received `edited`, the row says (edited)');

    // Delete my message, mouse: the toolbar's Delete, then the confirmation's Delete.
    await frame.locator('.composer textarea').click();
    await page.keyboard.type('posted to the wrong room');
    await page.keyboard.press('Enter');
    const wrong = (await bob.event('message', (e) => e.from === 'alice' && e.text === 'posted to the wrong room')).id as string;
    const wrongRow = messageRow(frame, wrong);
    await wrongRow.hover();
    await wrongRow.getByRole('button', { name: 'Delete (Delete)' }).click();
    await wrongRow.locator('.confirm-bar').getByRole('button', { name: 'Delete', exact: true }).click();
    await bob.event('deleted', (e) => e.id === wrong && e.room === ROOM);
    const kept = ((await bob.ok({ cmd: 'history', room: ROOM, limit: 100 })).messages as { id: string; text: string; deleted?: boolean }[]).find((m) => m.id === wrong);
    assert.deepEqual([kept?.deleted, kept?.text], [true, ''], 'bob\'s history keeps the deleted message without its text');
    await wrongRow.locator('.deleted-text', { hasText: 'message deleted' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    assert.equal(await wrongRow.getByText('posted to the wrong room').count(), 0, 'its text is gone from the view');
    step('deleted my message from the toolbar: bob received `deleted`, the row says "message deleted"');

    // The other hand: reply and edit by mouse (the toolbar, Send, Save), delete by keyboard (Delete, Enter).
    const note = messageRow(frame, notes[FILLERS - 1]!);
    await note.hover();
    await note.getByRole('button', { name: 'Reply (R)' }).click();
    await frame.locator('.composer-input').click();
    await page.keyboard.type('noted');
    await frame.getByRole('button', { name: 'Send (Enter)' }).click();
    const noted = await bob.event('message', (e) => e.from === 'alice' && e.text === 'noted');
    assert.equal(noted.replyTo, notes[FILLERS - 1]);
    const notedRow = messageRow(frame, noted.id as string);
    await notedRow.hover();
    await notedRow.getByRole('button', { name: 'Edit (E)' }).click();
    await notedRow.locator('.edit-input').click();
    await page.keyboard.press('End');
    await page.keyboard.type(', thanks');
    await notedRow.getByRole('button', { name: 'Save', exact: true }).click();
    assert.equal((await bob.event('edited', (e) => e.id === noted.id)).text, 'noted, thanks');
    await notedRow.locator('.edited-mark').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await arrowToMessage(page, frame, noted.id as string);
    await page.keyboard.press('Delete');
    await focusOn(frame, '.confirm-bar button');
    await page.keyboard.press('Enter');
    await bob.event('deleted', (e) => e.id === noted.id);
    await notedRow.locator('.deleted-text').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    step('replied and edited by mouse, deleted by keyboard: bob received each');

    // bob reacts, edits and deletes: the window follows.
    await bob.ok({ cmd: 'react', room: ROOM, messageId: review, emoji: '👍' });
    await bob.ok({ cmd: 'react', room: ROOM, messageId: replyId, emoji: '🎉' });
    await bob.ok({ cmd: 'edit', room: ROOM, messageId: review, text: 'can someone review the parser? PR #42' });
    await bob.ok({ cmd: 'delete', room: ROOM, messageId: oops });
    const both = reviewRow.locator('.reaction', { hasText: '👍' });
    await both.locator('.reaction-count', { hasText: /^2$/ }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    assert.equal(await both.getAttribute('title'), 'you and bob reacted with 👍', 'the chip says who reacted');
    const party = replyRow.locator('.reaction', { hasText: '🎉' });
    await party.locator('.reaction-count', { hasText: /^1$/ }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    assert.equal(await party.getAttribute('title'), 'bob reacted with 🎉');
    await reviewRow.locator('.message-body', { hasText: 'PR #42' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await reviewRow.locator('.edited-mark', { hasText: '(edited)' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await messageRow(frame, oops).locator('.deleted-text', { hasText: 'message deleted' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await page.mouse.move(0, 0);
    await screenshotInThemes(page, 'conversations', ['dark', 'light'], { sidebar: true });
    step('bob reacted, edited and deleted: counts with who reacted, (edited), "message deleted"; screenshots dark and light');

    // "New messages": bob writes to the lobby while alice reads their direct conversation.
    await bob.ok({ cmd: 'msg', user: 'alice', text: 'got a minute?' });
    frame = await openConversation(page, 'bob');
    await frame.locator('.row.message', { hasText: 'got a minute?' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    const unread: string[] = [];
    for (let i = 1; i <= UNREAD; i++) unread.push(await say(`while you were away ${i}`));
    frame = await openConversation(page, ROOM);
    // The lobby opens at its newest message, the line far above: "Jump to first unread" takes me there.
    const jump = frame.getByRole('button', { name: 'Jump to first unread' });
    await jump.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await jump.click();
    const line = frame.getByRole('separator', { name: 'New messages' });
    await line.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    const lineIndex = Number(await line.getAttribute('data-index'));
    assert.equal(await frame.locator(`.row[data-index="${lineIndex + 1}"]`).getAttribute('data-id'), unread[0], 'the line is right above the first unread message');
    assert.equal(await frame.locator('.row.unread').count(), 1);
    await frame.waitForFunction((id) => (document.activeElement as HTMLElement | null)?.dataset.id === id, unread[0], { timeout: UI_TIMEOUT_MS });
    assert.ok(await inTimelineView(frame, unread[0]!), 'the first unread message is on screen');
    await page.screenshot({ path: join(RESULTS, 'conversations-new-messages.png') });
    step(`the "New messages" line sits above the first of ${UNREAD} messages that came while the DM was open; Jump to first unread took me there`);

    // Read state both ways: the window tells bob how far alice read; bob's receipt shows as "Seen by".
    await bob.event('read', (e) => e.room === ROOM && e.user === 'alice' && e.upTo === unread[UNREAD - 1]);
    await bob.ok({ cmd: 'mark_read', room: ROOM, upTo: unread[UNREAD - 1] });
    const seen = messageRow(frame, replyId).locator('.seen-by');
    await seen.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    assert.equal((await seen.innerText()).trim(), 'Seen by bob', 'under my newest message bob has read (the deleted one has none)');
    step('bob got alice\'s read receipt; his shows as "Seen by bob" under her newest message');

    // Search, in the view: from the DM, the search box finds bob's old message; Enter opens it in the lobby.
    frame = await openConversation(page, 'bob');
    await frame.getByRole('button', { name: 'Search Messages (Ctrl+F)' }).click();
    await focusOn(frame, '.search-input');
    await page.keyboard.type('flamingo');
    const hit = frame.getByRole('option').filter({ hasText: 'flamingo' }).first();
    await hit.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    assert.match(await hit.innerText(), /lobby[\s\S]*bob/);
    await page.keyboard.press('Enter');
    await frame.locator(`.composer textarea[placeholder="Message ${ROOM}"]`).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await frame.waitForFunction((id) => (document.activeElement as HTMLElement | null)?.closest<HTMLElement>('.row.message')?.dataset.id === id, target, { timeout: UI_TIMEOUT_MS });
    assert.ok(await inTimelineView(frame, target), 'the found message is scrolled into view');
    await page.screenshot({ path: join(RESULTS, 'conversations-search.png') });
    step('the search box found "flamingo"; Enter opened #lobby at bob\'s message, far above the latest');
    // It opened away from the newest (bob's later messages wait below): Latest goes back to them.
    await frame.getByRole('button', { name: 'Jump to the latest message' }).click();
    const newest = messageRow(frame, unread[UNREAD - 1]!);
    await newest.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await frame.waitForFunction(() => {
      const el = document.querySelector('.timeline')!;
      return el.scrollHeight - el.scrollTop - el.clientHeight <= 4;
    }, null, { timeout: UI_TIMEOUT_MS });
    assert.ok(await inTimelineView(frame, unread[UNREAD - 1]!), 'the newest message is on screen');
    step('Latest took the view from the search result back to the newest message');

    // Search, from the palette: P2P Chat: Search Messages, the QuickPick, Enter.
    frame = await openConversation(page, 'bob');
    await runCommand(page, 'P2P Chat: Search Messages');
    await page.locator('.quick-input-widget .quick-input-box input').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await page.keyboard.type('flamingo');
    await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'flamingo' }).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await page.keyboard.press('Enter');
    frame = await webviewFrame(page, `.composer textarea[placeholder="Message ${ROOM}"]`);
    await frame.waitForFunction((id) => (document.activeElement as HTMLElement | null)?.closest<HTMLElement>('.row.message')?.dataset.id === id, target, { timeout: UI_TIMEOUT_MS });
    assert.equal(await focusedMessage(frame), target);
    assert.ok(await inTimelineView(frame, target));
    step('"P2P Chat: Search Messages" found it too and opened it');
  } catch (err) {
    throw await failureReport(page, consoleLines, 'conversations', err);
  }
});

test('a snippet carol shares shows as a comment thread in alice\'s editor, follows its lines and says when they changed', { timeout: 420_000 }, async (context) => {
  const { t, dir, step, trackerAddress } = await startScene(context, 'code-threads');
  const { bot: bob, ready: bobReady } = botInRoom(t, trackerAddress, join(dir, 'bob'), 'bob', PASSWORDS.bob, ROOM);
  const { page: alice, consoleLines } = await openDevWindow(t, dir, { files: CODE_FOLDER, label: 'alice' });
  const { page: carol } = await openDevWindow(t, dir, { files: CODE_FOLDER, label: 'carol', consoleLines });
  let failed: Page = alice;
  try {
    await bobReady;
    await Promise.all([
      signUpAndJoin(alice, { tracker: trackerAddress, user: 'alice', password: PASSWORDS.alice, room: ROOM, member: bob }),
      signUpAndJoin(carol, { tracker: trackerAddress, user: 'carol', password: PASSWORDS.carol, room: ROOM, member: bob }),
    ]);
    step('alice and carol, each in her own VS Code, joined #lobby');

    // carol shares lines 3-5 of src/app.ts from her editor.
    failed = carol;
    await openFile(carol, 'app.ts');
    await goToLine(carol, 3);
    for (let i = 0; i < 3; i++) await carol.keyboard.press('Shift+ArrowDown');
    await runCommand(carol, 'P2P Chat: Share Selection');
    await answerInputBox(carol, /Add a message/, 'can we keep this handler pure?');
    const shared = await bob.event('message', (e) => e.from === 'carol' && e.text === 'can we keep this handler pure?');
    assert.deepEqual([(shared.snippet as { path: string }).path, (shared.snippet as { startLine: number }).startLine], ['src/app.ts', 3]);
    step('carol shared src/app.ts:3-5');

    // alice's editor: a thread on lines 3-5 (its glyph on the line VS Code puts it), carol's words in it.
    failed = alice;
    await webviewFrame(alice, `.row.message[data-id="${shared.id as string}"]`);
    await openFile(alice, 'app.ts');
    await threadGlyphs(alice).first().waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    // VS Code draws a thread's glyph on the last line of its range.
    assert.deepEqual(await glyphLines(alice), [5], 'one thread, on lines 3-5');
    // The Comments panel lists it with its lines (VS Code opens it for the first file with comments).
    const listed = alice.locator('.part.panel .monaco-list-row', { hasText: 'can we keep this handler pure?' });
    await listed.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    assert.match(await listed.innerText(), /carol[\s\S]*Ln 3-5/);
    // A click on it in the panel opens the thread in the editor.
    await listed.click();
    const widget = threadWidget(alice);
    await widget.waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await widget.getByText('can we keep this handler pure?').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    assert.match(await widget.innerText(), /carol/);
    await widget.locator('.review-title', { hasText: '#lobby' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    step("alice's editor shows carol's snippet as a comment thread on lines 3-5");

    // alice replies in the thread's box: a reply in the chat, for carol and bob alike.
    await focusReplyBox(widget);
    await alice.keyboard.type('yes, the cache can live outside');
    // Reply is enabled once VS Code has seen the box is not empty (its enablement is
    // !commentIsEmpty): Ctrl+Enter before that runs nothing.
    await widget.locator('.comment-form-container .form-actions .monaco-button:not(.disabled)', { hasText: 'Reply' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    // Ctrl+Enter: the box's first action, P2P Chat's Reply (its button says "Reply (Ctrl+Enter)").
    await alice.keyboard.press('Control+Enter');
    const fromEditor = await bob.event('message', (e) => e.from === 'alice' && e.text === 'yes, the cache can live outside');
    assert.equal(fromEditor.replyTo, shared.id, 'the thread\'s reply answers the snippet message');
    await widget.getByText('yes, the cache can live outside').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    const carolView = await webviewFrame(carol, `.row.message[data-id="${fromEditor.id as string}"]`);
    assert.match(await messageRow(carolView, fromEditor.id as string).locator('.reply-quote').innerText(), /carol[\s\S]*can we keep this handler pure\?/);
    // carol answers in her chat (R on her snippet message): the answer joins alice's thread.
    failed = carol;
    await arrowToMessage(carol, carolView, shared.id as string);
    await carol.keyboard.press('r');
    await focusOn(carolView, '.composer-input');
    await carol.keyboard.type('great, ship it');
    await carol.keyboard.press('Enter');
    failed = alice;
    await widget.getByText('great, ship it').waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    step('a reply from the thread\'s box shows in carol\'s chat as a reply; her reply in the chat shows in alice\'s thread');

    // Two lines inserted above: the thread moves down with its code.
    await goToLine(alice, 1);
    await alice.keyboard.press('Enter');
    await alice.keyboard.press('Enter');
    await widget.locator('.review-title', { hasText: 'now at 5-7' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await waitForGlyphLines(alice, [7]);
    await listed.filter({ hasText: 'Ln 5-7' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    step('two lines inserted above: the thread follows its code to lines 5-7');

    // The path link in alice's timeline opens the file at the lines the code is at now (5-7 selected, the cursor at their end).
    const aliceView = await webviewFrame(alice, `.row.message[data-id="${shared.id as string}"]`);
    await messageRow(aliceView, shared.id as string).locator('.snippet-link').click();
    await alice.locator('.statusbar-item[id="status.editor.selection"]', { hasText: /^Ln 7, Col 2 \(\d+ selected\)$/ }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    step('the timeline\'s app.ts:3–5 link opened the file with lines 5-7 selected');

    // The code inside it edited: the thread says it changed and offers the snippet as shared beside it.
    await goToLine(alice, 6);
    await alice.keyboard.press('End');
    await alice.keyboard.type(' // TODO: cache');
    await widget.locator('.review-title', { hasText: 'changed' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    await screenshotInThemes(alice, 'conversations-code-thread', ['dark', 'light']);
    await widget.getByRole('button', { name: 'Compare with the Shared Snippet' }).click();
    // Side by side: the snippet as carol shared it, and the file as it is now.
    const diff = alice.locator('.monaco-diff-editor').first();
    await diff.locator('.editor.modified .view-lines', { hasText: 'TODO: cache' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    const original = diff.locator('.editor.original .view-lines');
    await original.filter({ hasText: 'return new Response' }).waitFor({ state: 'visible', timeout: UI_TIMEOUT_MS });
    assert.doesNotMatch(await original.innerText(), /TODO/, 'the left side is the code as shared');
    await alice.screenshot({ path: join(RESULTS, 'conversations-code-thread-compare.png') });
    step('the edited lines: the thread says "changed", and Compare opens the snippet as shared beside the file');
  } catch (err) {
    throw await failureReport(failed, consoleLines, 'code-threads', err);
  }
});
