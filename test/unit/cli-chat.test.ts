// peer/cli-chat.ts on its own: chat mode sends every non-blank line until /quit, reports a failed
// send and goes on, shows its target in the prompt only while chatting, and leaves on Ctrl-C.
import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { test } from 'node:test';
import { ChatMode } from '../../peer/cli-chat.ts';
import { Terminal } from '../../peer/terminal.ts';

function terminal(): { term: Terminal; stdin: PassThrough; text(): string } {
  let written = '';
  const out = new Writable({
    write(chunk, _encoding, done) {
      written += String(chunk);
      done();
    },
  });
  const stdin = new PassThrough();
  return { term: new Terminal(out, stdin), stdin, text: () => written };
}

test('chat mode sends each non-blank line, reports a failure and goes on, until /quit', async () => {
  const { term, stdin, text } = terminal();
  const sent: string[] = [];
  const reported: unknown[] = [];
  const chat = new ChatMode(term, (err) => reported.push(err));
  assert.equal(chat.prompt, undefined);
  stdin.write('hello\n\n   \nfail\n  /quit  \nafter\n');
  let promptWhileChatting: string | undefined;
  await chat.run('[general]', async (line) => {
    promptWhileChatting = chat.prompt;
    sent.push(line);
    if (line === 'fail') throw new Error('refused');
  });
  assert.deepEqual(sent, ['hello', 'fail']);
  assert.deepEqual(reported.map((e) => (e as Error).message), ['refused']);
  assert.equal(promptWhileChatting, '[general]> ');
  assert.equal(chat.prompt, undefined, 'the target is gone after /quit');
  assert.equal(text(), 'Chat mode [general]: each line is sent; /quit leaves.\n');
  assert.equal(await term.read('> '), 'after', 'the line after /quit is a command again');
  term.close();
});

test('Ctrl-C leaves chat mode as /quit does; the end of stdin leaves it too; not chatting, it does nothing', async () => {
  const { term, stdin } = terminal();
  const chat = new ChatMode(term, () => {});
  assert.equal(chat.interrupt(), false, 'not chatting');
  const sent: string[] = [];
  const running = chat.run('[dm bob]', async (line) => void sent.push(line));
  while (term.waiting === undefined) await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(chat.interrupt(), true);
  await running;
  assert.equal(sent.length, 0, 'nothing was sent');

  const again = chat.run('[dm bob]', async (line) => void sent.push(line));
  stdin.end('one\n');
  await again;
  assert.deepEqual(sent, ['one']);
  assert.equal(chat.prompt, undefined);
  term.close();
});
