import { useCallback, useEffect, useMemo, useState } from 'react';
import { createApi, type Credentials } from './api.ts';
import { AuditPage } from './AuditPage.tsx';
import { TenantEditor } from './TenantEditor.tsx';
import { TenantList } from './TenantList.tsx';

const STORAGE_KEY = 'ragswap-admin';

/** Hash routes keep the server side to one HTML file: #/ , #/new , #/edit/<tenant> , #/audit. */
function useHashRoute(): string {
  const [hash, setHash] = useState(() => window.location.hash.slice(1) || '/');
  useEffect(() => {
    const onChange = () => setHash(window.location.hash.slice(1) || '/');
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return hash;
}

export const navigate = (route: string) => {
  window.location.hash = route;
};

function Login({ onLogin }: { onLogin: (credentials: Credentials) => void }) {
  const [token, setToken] = useState('');
  const [user, setUser] = useState('');
  return (
    <main className="login">
      <h1>ragswap admin</h1>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          onLogin({ token: token.trim(), user: user.trim() });
        }}
      >
        <label>
          Admin token
          <input type="password" name="token" autoComplete="current-password" required value={token} onChange={(e) => setToken(e.target.value)} />
        </label>
        <label>
          Your name (recorded in the audit log)
          <input name="user" pattern="[A-Za-z0-9._@+\-]{1,64}" value={user} onChange={(e) => setUser(e.target.value)} />
        </label>
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}

export function App() {
  // sessionStorage: the token lives as long as the tab, never in a cookie the search page could send.
  const [credentials, setCredentials] = useState<Credentials | null>(() => {
    const saved = sessionStorage.getItem(STORAGE_KEY);
    return saved ? (JSON.parse(saved) as Credentials) : null;
  });
  /** A message belongs to the page it was shown on; leaving that page drops it, so it never looks current later. */
  const [flash, setFlash] = useState<{ text: string; route: string } | null>(null);
  const route = useHashRoute();
  const api = useMemo(() => (credentials ? createApi(credentials) : null), [credentials]);
  // Stable across renders: pages load data in effects that depend on it, and a new function on every
  // render (e.g. when a message times out) would reload the editor and throw away what was typed.
  const signOut = useCallback(() => {
    sessionStorage.removeItem(STORAGE_KEY);
    setCredentials(null);
  }, []);

  // Only a navigation drops a message: done() sets one for '/' just before it navigates there.
  useEffect(() => {
    setFlash((current) => (current && current.route !== route ? null : current));
  }, [route]);

  useEffect(() => {
    if (!flash) return;
    const timer = setTimeout(() => setFlash(null), 6_000);
    return () => clearTimeout(timer);
  }, [flash]);

  if (!credentials || !api) {
    return (
      <Login
        onLogin={(next) => {
          sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next));
          setCredentials(next);
        }}
      />
    );
  }
  const done = (text: string) => {
    setFlash({ text, route: '/' });
    navigate('/');
  };

  let page;
  if (route === '/new') page = <TenantEditor api={api} tenantId={null} onDone={done} onUnauthorized={signOut} />;
  else if (route.startsWith('/edit/')) page = <TenantEditor key={route} api={api} tenantId={decodeURIComponent(route.slice(6))} onDone={done} onUnauthorized={signOut} />;
  else if (route === '/audit') page = <AuditPage api={api} onUnauthorized={signOut} />;
  else page = <TenantList api={api} onFlash={(text) => setFlash({ text, route })} onUnauthorized={signOut} />;

  return (
    <>
      <header className="topbar">
        <strong>ragswap admin</strong>
        <nav aria-label="main">
          <a href="#/" aria-current={route === '/' ? 'page' : undefined}>Tenants</a>
          <a href="#/new" aria-current={route === '/new' ? 'page' : undefined}>Create tenant</a>
          <a href="#/audit" aria-current={route === '/audit' ? 'page' : undefined}>Audit log</a>
        </nav>
        <span className="who">{credentials.user || 'admin'}</span>
        <button type="button" className="link" onClick={signOut}>Sign out</button>
      </header>
      <main>
        {flash?.route === route && (
          <p className="flash" role="status">
            {flash.text}
          </p>
        )}
        {page}
      </main>
    </>
  );
}
