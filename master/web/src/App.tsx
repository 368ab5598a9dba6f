import { useEffect, useState, type FormEvent } from 'react';
import type { WhoAmI } from '../../../shared/src/api.js';
import { api, ApiError, session } from './api.js';
import { AuditPage } from './pages/AuditPage.js';
import { BackupsPage } from './pages/BackupsPage.js';
import { ClusterPage } from './pages/ClusterPage.js';
import { Dashboard } from './pages/Dashboard.js';
import { PlatformPage } from './pages/PlatformPage.js';
import { ProjectPage, ProjectsPage } from './pages/ProjectsPage.js';
import { SitePage } from './pages/SitePage.js';
import { TaskPage } from './pages/TaskPage.js';
import { Problem } from './util.js';

/**
 * #/, #/sites/<domain>, #/tasks/<id>, #/platforms/<name>, #/clusters/<name>, #/projects[/<name>],
 * #/backups, #/audit: routes live in the hash.
 */
function useHashRoute(): string[] {
  const read = () =>
    window.location.hash
      .replace(/^#\/?/, '')
      .split('/')
      .filter(Boolean)
      .map((part) => decodeURIComponent(part));
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = () => setRoute(read());
    window.addEventListener('hashchange', changed);
    return () => window.removeEventListener('hashchange', changed);
  }, []);
  return route;
}

export function App() {
  const [me, setMe] = useState<WhoAmI | null>(null);
  const [checking, setChecking] = useState(() => session.token() !== null);
  const route = useHashRoute();

  useEffect(() => {
    if (!session.token()) return;
    api<WhoAmI>('GET', '/api/auth/me').then(
      (who) => {
        setMe(who);
        setChecking(false);
      },
      () => {
        session.signOut();
        setChecking(false);
      },
    );
  }, []);

  if (checking) return <p className="loading">Loading…</p>;
  if (!me) return <SignIn onSignedIn={setMe} />;

  const signOut = () => {
    session.signOut();
    setMe(null);
  };
  const [page, param] = route;
  let content;
  if (page === 'sites' && param) content = <SitePage key={param} domain={param} me={me} />;
  else if (page === 'tasks' && param) content = <TaskPage key={param} id={param} />;
  else if (page === 'platforms' && param && me.role === 'admin')
    content = <PlatformPage key={param} name={param} />;
  else if (page === 'clusters' && param && me.role === 'admin')
    content = <ClusterPage key={param} name={param} />;
  else if (page === 'projects' && param) content = <ProjectPage key={param} name={param} />;
  else if (page === 'projects') content = <ProjectsPage />;
  else if (page === 'backups' && me.role === 'admin') content = <BackupsPage />;
  else if (page === 'audit' && me.role === 'admin') content = <AuditPage />;
  else content = <Dashboard me={me} />;

  return (
    <>
      <header className="top">
        <a href="#/" className="brand">
          Berth
        </a>
        <a href="#/projects" className="nav">
          Projects
        </a>
        {me.role === 'admin' && (
          <>
            <a href="#/backups" className="nav">
              Backups
            </a>
            <a href="#/audit" className="nav">
              Audit
            </a>
          </>
        )}
        <span className="who">
          {me.role === 'admin' ? 'admin' : `client ${me.client ?? ''}`} · {me.name}
        </span>
        <button type="button" className="link" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>{content}</main>
    </>
  );
}

function SignIn({ onSignedIn }: { onSignedIn: (me: WhoAmI) => void }) {
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState<string>();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const candidate = token.trim();
    try {
      const who = await api<WhoAmI>('GET', '/api/auth/me', undefined, candidate);
      session.signIn(candidate);
      onSignedIn(who);
    } catch (error) {
      setProblem(
        error instanceof ApiError && error.status === 401
          ? 'That token is not valid (unknown or revoked).'
          : `Cannot sign in: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  };
  return (
    <main className="sign-in">
      <h1>Berth</h1>
      <form onSubmit={(event) => void submit(event)}>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          placeholder="bt_…"
          value={token}
          onChange={(event) => setToken(event.target.value)}
        />
        <button type="submit" disabled={token.trim() === ''}>
          Sign in
        </button>
        <Problem message={problem} />
        <p className="hint">
          The admin token is printed once when the master first starts (the CLI keeps it in
          .berth/cli/credentials.json); <code>berth client token NAME</code> issues one for a client.
        </p>
      </form>
    </main>
  );
}
