// Logged out: the login/register form and its inline errors, and the palette-command buttons.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { useHarness, WAIT_MS } from './harness.ts';
import { loggedIn, loggedOut, ME, TRACKER } from './fixtures.ts';

describe('webview: logged out', () => {
  const harness = useHarness();

  test('acquires the VS Code API once and says it is ready', async (t) => {
    const view = await harness().open(t);
    assert.equal(await view.page.evaluate(() => (window as unknown as { __acquireCount: number }).__acquireCount), 1);
    assert.deepEqual(await view.posted(), [{ type: 'view/ready' }]);
    view.assertClean();
  });

  test('the login form posts auth/login with the fields; the password is masked', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: loggedOut() });
    const page = view.page;
    const tracker = page.getByLabel('Tracker address');
    await tracker.waitFor({ timeout: WAIT_MS });
    assert.equal(await tracker.inputValue(), TRACKER, 'the tracker address comes from the host');
    assert.equal(await page.getByLabel('Password', { exact: true }).getAttribute('type'), 'password');
    await tracker.fill('10.0.0.5:12345');
    await page.getByLabel('User name').fill(' alice ');
    await page.getByLabel('Password', { exact: true }).fill('s3cret pass');
    await page.getByLabel('Password', { exact: true }).press('Enter');
    const sent = await view.waitForPosted('auth/login');
    assert.deepEqual(sent, { type: 'auth/login', requestId: 1, tracker: '10.0.0.5:12345', user: 'alice', password: 's3cret pass' });
    assert.equal((await view.postedOf('auth/register')).length, 0);
    view.assertClean();
  });

  test('missing fields are reported inline and nothing is posted', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: loggedOut() });
    await view.page.getByLabel('User name').fill('alice');
    await view.page.getByRole('button', { name: 'Log in' }).click();
    const error = view.page.locator('#login-password-error');
    await error.waitFor({ timeout: WAIT_MS });
    assert.match(await error.innerText(), /password/i);
    assert.equal(await view.page.getByLabel('Password', { exact: true }).getAttribute('aria-invalid'), 'true');
    assert.equal((await view.postedOf('auth/login')).length, 0);
  });

  test('a failed login shows the host error in the form and re-enables it', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: loggedOut() });
    const page = view.page;
    await page.getByLabel('User name').fill('alice');
    await page.getByLabel('Password', { exact: true }).fill('wrong');
    await page.getByRole('button', { name: 'Log in' }).click();
    const sent = await view.waitForPosted('auth/login', { user: 'alice' });
    assert.equal(await page.getByRole('button', { name: 'Log in' }).isDisabled(), true, 'disabled while the host works');
    await view.send({ type: 'request/completed', requestId: sent.requestId, ok: false, error: { message: 'Wrong user name or password.', code: 'auth.bad_credentials' } });
    await page.getByRole('alert').filter({ hasText: 'Wrong user name or password.' }).waitFor({ timeout: WAIT_MS });
    assert.equal(await page.getByRole('button', { name: 'Log in' }).isDisabled(), false);
    view.assertClean();
  });

  test('register mode posts auth/register after the passwords match', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: loggedOut() });
    const page = view.page;
    await page.getByRole('button', { name: 'Create an account…' }).click();
    await page.getByLabel('User name').fill('dave');
    await page.getByLabel('Password', { exact: true }).fill('one two three');
    await page.getByLabel('Confirm password').fill('one two four');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.locator('#login-confirm-error').waitFor({ timeout: WAIT_MS });
    assert.equal((await view.postedOf('auth/register')).length, 0, 'mismatched passwords are not sent');
    await page.getByLabel('Confirm password').fill('one two three');
    await page.getByRole('button', { name: 'Create account' }).click();
    assert.deepEqual(await view.waitForPosted('auth/register'), { type: 'auth/register', requestId: 1, tracker: TRACKER, user: 'dave', password: 'one two three' });
  });

  test('the command buttons run the palette commands', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: loggedOut() });
    await view.page.getByRole('button', { name: 'P2P Chat: Login' }).click();
    await view.waitForPosted('command/run', { command: 'p2pChat.login' });
    await view.page.getByRole('button', { name: 'P2P Chat: Register' }).click();
    await view.waitForPosted('command/run', { command: 'p2pChat.register' });
  });

  test('the user name survives hide/show, the password does not', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: loggedOut() });
    await view.page.getByLabel('User name').fill('alice');
    await view.page.getByLabel('Password', { exact: true }).fill('pw');
    await view.page.getByRole('button', { name: 'Log in' }).click();
    await view.waitForPosted('auth/login');
    await view.reload();
    await view.send({ type: 'host/snapshot', snapshot: loggedOut() });
    await view.page.getByLabel('User name').waitFor({ timeout: WAIT_MS });
    assert.equal(await view.page.getByLabel('User name').inputValue(), 'alice');
    assert.equal(await view.page.getByLabel('Password', { exact: true }).inputValue(), '');
    const saved = await view.page.evaluate(() => sessionStorage.getItem('fake-vscode-state') ?? '');
    assert.doesNotMatch(saved, /pw/, 'the password is never kept');
  });

  test('once the host says we are online, the chat replaces the form', async (t) => {
    const view = await harness().open(t);
    await view.send({ type: 'host/snapshot', snapshot: loggedOut() });
    await view.page.getByLabel('User name').waitFor({ timeout: WAIT_MS });
    await view.send({ type: 'host/snapshot', snapshot: loggedIn() });
    await view.page.getByRole('navigation', { name: 'Conversations and people' }).waitFor({ timeout: WAIT_MS });
    assert.equal(await view.page.getByLabel('User name').count(), 0);
    assert.equal(await view.page.locator('.me-name').innerText(), ME);
    view.assertClean();
  });
});
