// Sign-in with a Pulse token or a JWT. The console checks it by asking Pulse what this person may do.
import { type FormEvent, useEffect, useState } from 'react';
import { makeClients, makeTransport, plainError } from '../api';
import { type Abilities, discoverAbilities, storeCredentials, storedCredentials, userIdFromJwt } from '../session';

export function SignIn({ onSignedIn }: { onSignedIn: (s: { token: string; userId: string; abilities: Abilities }) => void }) {
  const [token, setToken] = useState('');
  const [userId, setUserId] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  async function signIn(credentials: { token: string; userId: string }) {
    setBusy(true);
    setError('');
    try {
      const abilities = await discoverAbilities(makeClients(makeTransport(credentials.token)), credentials.userId);
      storeCredentials(credentials);
      onSignedIn({ ...credentials, abilities });
    } catch (err) {
      storeCredentials(null);
      setError(plainError(err));
      setBusy(false);
    }
  }

  // A reload keeps this tab signed in.
  useEffect(() => {
    const stored = storedCredentials();
    if (stored) void signIn(stored);
  }, []);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const id = userId.trim() || userIdFromJwt(token.trim());
    if (!token.trim() || !id) {
      setError('Enter your token and your user id.');
      return;
    }
    void signIn({ token: token.trim(), userId: id });
  };

  return (
    <main id="main" className="signin">
      <h1>Sign in to Pulse</h1>
      <form onSubmit={submit} aria-describedby={error ? 'signin-error' : undefined}>
        <label htmlFor="token">Pulse token or JWT</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          value={token}
          onChange={(e) => {
            setToken(e.target.value);
            if (!userId) setUserId(userIdFromJwt(e.target.value.trim()));
          }}
          required
        />
        <label htmlFor="user">Your user id</label>
        <input id="user" name="user" value={userId} onChange={(e) => setUserId(e.target.value)} autoComplete="username" />
        <p className="hint">The name in your token entry (or its user=), e.g. "ann"; a JWT fills it in.</p>
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error && (
          <p id="signin-error" role="alert" className="error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
