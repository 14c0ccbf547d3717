// Sign-in: user name and password, sent by the browser to Cognito's InitiateAuth (never to the gateway).

import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { signIn, signInNotice } from '../lib/auth.js';
import { Field } from '../lib/ui.js';

export function SignIn({ config }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const notice = signInNotice();

  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      await signIn(username.trim(), password);
    } catch (failure) {
      setError(failure.message);
      setBusy(false);
    }
  };

  return html`<main id="main" class="signin">
    <form onSubmit=${submit} aria-labelledby="signin-title">
      <h1 id="signin-title">Sign in to WECARE</h1>
      ${notice && html`<p class="notice" role="status">${notice}</p>`}
      <${Field} label="User name" name="username" autocomplete="username" required value=${username}
        onInput=${(e) => setUsername(e.currentTarget.value)} />
      <${Field} label="Password" name="password" type="password" autocomplete="current-password" required
        value=${password} onInput=${(e) => setPassword(e.currentTarget.value)} />
      ${error && html`<p class="notice error" role="alert">${error}</p>`}
      <button type="submit" disabled=${busy}>${busy ? 'Signing in…' : 'Sign in'}</button>
      <p class="hint">Signs in with the user pool at <code>${config.cognito.endpoint}</code> (${config.cognito.region}).</p>
    </form>
  </main>`;
}
