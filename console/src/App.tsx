// The console's frame: sign-in until someone is signed in, then the pages their abilities allow.
import { TransportProvider } from '@connectrpc/connect-query';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { makeClients, makeTransport } from './api';
import { InboxBadge } from './components/InboxBadge';
import { CasePage } from './pages/CasePage';
import { DeadLetters } from './pages/DeadLetters';
import { Inbox } from './pages/Inbox';
import { NotificationLookup } from './pages/NotificationLookup';
import { Policy } from './pages/Policy';
import { Preferences } from './pages/Preferences';
import { Queue } from './pages/Queue';
import { Routes } from './pages/Routes';
import { SignIn } from './pages/SignIn';
import { Stats } from './pages/Stats';
import { Templates } from './pages/Templates';
import { Link, navigate, usePath } from './router';
import { type Abilities, type Session, SessionProvider, storeCredentials } from './session';

export function App() {
  const [signedIn, setSignedIn] = useState<{ token: string; userId: string; abilities: Abilities } | null>(null);
  if (!signedIn) return <SignIn onSignedIn={setSignedIn} />;
  return (
    <Console
      {...signedIn}
      onSignOut={() => {
        storeCredentials(null);
        setSignedIn(null);
        navigate('/');
      }}
    />
  );
}

function Console({ token, userId, abilities, onSignOut }: { token: string; userId: string; abilities: Abilities; onSignOut: () => void }) {
  const transport = useMemo(() => makeTransport(token), [token]);
  const session = useMemo<Session>(() => ({ token, userId, abilities, clients: makeClients(transport) }), [token, userId, abilities, transport]);
  const queryClient = useMemo(() => new QueryClient({ defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false } } }), [token]);
  const path = usePath();
  return (
    <TransportProvider transport={transport}>
      <QueryClientProvider client={queryClient}>
        <SessionProvider value={session}>
          <a className="skip" href="#main">
            Skip to content
          </a>
          <header className="top">
            <span className="brand">Pulse</span>
            <nav aria-label="Main">
              <ul>
                {abilities.reviews && (
                  <li>
                    <Link to="/reviews">Review queue</Link>
                  </li>
                )}
                {abilities.inbox && (
                  <li>
                    <Link to="/inbox">
                      Inbox <InboxBadge />
                    </Link>
                  </li>
                )}
                {abilities.preferences && (
                  <li>
                    <Link to="/preferences">My preferences</Link>
                  </li>
                )}
                {abilities.operator && (
                  <>
                    <li>
                      <Link to="/admin/dead-letters">Dead letters</Link>
                    </li>
                    <li>
                      <Link to="/admin/stats">Delivery statistics</Link>
                    </li>
                    <li>
                      <Link to="/admin/routes">Topic routes</Link>
                    </li>
                    <li>
                      <Link to="/admin/templates">Templates</Link>
                    </li>
                    <li>
                      <Link to="/admin/lookup">Find a notification</Link>
                    </li>
                  </>
                )}
                {abilities.policy && (
                  <li>
                    <Link to="/admin/policy">Review policy</Link>
                  </li>
                )}
              </ul>
            </nav>
            <span className="who">
              Signed in as <strong>{userId}</strong>{' '}
              <button type="button" onClick={onSignOut}>
                Sign out
              </button>
            </span>
          </header>
          <main id="main" tabIndex={-1}>
            <Page path={path} abilities={abilities} />
          </main>
        </SessionProvider>
      </QueryClientProvider>
    </TransportProvider>
  );
}

function Page({ path, abilities }: { path: string; abilities: Abilities }) {
  const caseId = /^\/reviews\/([^/]+)$/.exec(path)?.[1];
  if (caseId && abilities.reviews) return <CasePage reviewId={decodeURIComponent(caseId)} />;
  if (path === '/reviews' && abilities.reviews) return <Queue />;
  if (path === '/inbox' && abilities.inbox) return <Inbox />;
  if (path === '/preferences' && abilities.preferences) return <Preferences />;
  if (path === '/admin/dead-letters' && abilities.operator) return <DeadLetters />;
  if (path === '/admin/stats' && abilities.operator) return <Stats />;
  if (path === '/admin/routes' && abilities.operator) return <Routes />;
  if (path === '/admin/templates' && abilities.operator) return <Templates />;
  if (path === '/admin/lookup' && abilities.operator) return <NotificationLookup />;
  if (path === '/admin/policy' && abilities.policy) return <Policy editable={abilities.operator} />;
  // The home page: the first area this person may use.
  const home = abilities.reviews ? <Queue /> : abilities.inbox ? <Inbox /> : abilities.operator ? <DeadLetters /> : <Preferences />;
  return home;
}
