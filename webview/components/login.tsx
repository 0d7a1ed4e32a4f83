// Logged out: log in or create an account on a tracker. The password goes to the host once, in
// the auth message, and is never kept by the view. Errors appear in the form, next to the field
// they are about when there is one.

import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { actions } from '../actions.ts';
import { model, type FormField } from '../state.ts';
import { visibleLines } from '../../protocol/text.ts';

export function Login() {
  const session = model.session.value;
  const saved = model.loginFields.value;
  const error = model.loginError.value;
  const pending = model.authPending.value;
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [tracker, setTracker] = useState<string | undefined>(saved.tracker);
  // After a logout the form starts with the name last signed in, as the palette's Login does.
  const [user, setUser] = useState(saved.user || session.lastUser || '');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [mismatch, setMismatch] = useState(false);
  const register = mode === 'register';

  const submit = (e: Event): void => {
    e.preventDefault();
    if (register && password !== confirm) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    actions.login({ tracker: tracker ?? session.tracker, user, password }, register);
  };
  // Error messages may quote the tracker: shown visibly.
  const fieldError = (field: FormField) => (error?.field === field ? visibleLines(error.message) : undefined);
  const formError = error && !error.field ? visibleLines(error.message) : undefined;
  const busy = pending || session.state === 'connecting';

  return (
    <form class="login" onSubmit={submit} aria-labelledby="login-title" aria-busy={pending} noValidate>
      <h1 id="login-title">{register ? 'Create a P2P Chat account' : 'Log in to P2P Chat'}</h1>
      <p class="muted" role="status">
        {busy ? session.detail || 'Connecting…' : session.detail}
      </p>
      <Field id="login-tracker" label="Tracker address" error={fieldError('tracker')}>
        <input
          id="login-tracker"
          name="tracker"
          type="text"
          placeholder="host:port"
          autocomplete="off"
          spellcheck={false}
          value={tracker ?? session.tracker}
          onInput={(e) => setTracker(e.currentTarget.value)}
          aria-invalid={Boolean(fieldError('tracker'))}
          aria-describedby={fieldError('tracker') ? 'login-tracker-error' : undefined}
        />
      </Field>
      <Field id="login-user" label="User name" error={fieldError('user')}>
        <input
          id="login-user"
          name="user"
          type="text"
          autocomplete="username"
          autocapitalize="off"
          spellcheck={false}
          value={user}
          onInput={(e) => setUser(e.currentTarget.value)}
          aria-invalid={Boolean(fieldError('user'))}
          aria-describedby={fieldError('user') ? 'login-user-error' : undefined}
        />
      </Field>
      <Field id="login-password" label="Password" error={fieldError('password')}>
        <input
          id="login-password"
          name="password"
          type="password"
          autocomplete={register ? 'new-password' : 'current-password'}
          value={password}
          onInput={(e) => setPassword(e.currentTarget.value)}
          aria-invalid={Boolean(fieldError('password'))}
          aria-describedby={fieldError('password') ? 'login-password-error' : undefined}
        />
      </Field>
      {register && (
        <Field id="login-confirm" label="Confirm password" error={mismatch ? 'The passwords differ.' : undefined}>
          <input
            id="login-confirm"
            name="confirm"
            type="password"
            autocomplete="new-password"
            value={confirm}
            onInput={(e) => setConfirm(e.currentTarget.value)}
            aria-invalid={mismatch}
            aria-describedby={mismatch ? 'login-confirm-error' : undefined}
          />
        </Field>
      )}
      {formError && (
        <p class="form-error" role="alert">
          {formError}
        </p>
      )}
      <div class="form-buttons">
        <button type="submit" class="primary" disabled={pending}>
          {register ? 'Create account' : 'Log in'}
        </button>
        <button type="button" class="secondary" onClick={() => setMode(register ? 'login' : 'register')}>
          {register ? 'I have an account' : 'Create an account…'}
        </button>
      </div>
      <p class="muted commands">
        Or use the commands:{' '}
        <button type="button" class="link" onClick={() => actions.runCommand('p2pChat.login')}>
          P2P Chat: Login
        </button>{' '}
        <button type="button" class="link" onClick={() => actions.runCommand('p2pChat.register')}>
          P2P Chat: Register
        </button>
      </p>
    </form>
  );
}

function Field(props: { id: string; label: string; error: string | undefined; children: ComponentChildren }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.error && (
        <p class="field-error" id={`${props.id}-error`} role="alert">
          {props.error}
        </p>
      )}
    </div>
  );
}
