import { useQuery, useQueryClient } from '@tanstack/react-query';
import {
  useEffect,
  useState,
  useSyncExternalStore,
  type FormEvent,
  type MouseEvent,
  type ReactNode,
} from 'react';
import type { WhoAmI } from '../../../shared/src/api.js';
import { ApiError, get, request, session } from './api.js';
import { AuditPage } from './pages/AuditPage.js';
import { BackupsPage } from './pages/BackupsPage.js';
import { ClientsPage } from './pages/ClientsPage.js';
import { ClusterPage } from './pages/ClusterPage.js';
import { Dashboard } from './pages/Dashboard.js';
import { PlatformPage } from './pages/PlatformPage.js';
import { PlatformsPage } from './pages/PlatformsPage.js';
import { ProjectPage, ProjectsPage } from './pages/ProjectsPage.js';
import { ServersPage } from './pages/ServersPage.js';
import { SitePage } from './pages/SitePage.js';
import { SitesPage } from './pages/SitesPage.js';
import { TaskPage } from './pages/TaskPage.js';
import { TasksPage } from './pages/TasksPage.js';
import { errorMessage, keys } from './query.js';
import { href, useRoute, useTitle, type Route } from './router.js';
import { Problem } from './util.js';

/** The nav bar's pages, in its order; `admin`: not shown to (nor routed for) a client token. */
const NAV: ReadonlyArray<{ section: string; label: string; admin?: boolean }> = [
  { section: '', label: 'Dashboard' },
  { section: 'sites', label: 'Sites' },
  { section: 'platforms', label: 'Platforms', admin: true },
  { section: 'servers', label: 'Servers', admin: true },
  { section: 'tasks', label: 'Tasks' },
  { section: 'clients', label: 'Clients', admin: true },
  { section: 'projects', label: 'Projects' },
  { section: 'backups', label: 'Backups', admin: true },
  { section: 'audit', label: 'Audit', admin: true },
];

const ADMIN_SECTIONS = new Set([...NAV.filter((item) => item.admin).map((item) => item.section), 'clusters']);

/**
 * The page a route shows. An admin's page asked for with a client token shows the dashboard, as an
 * unknown route does not: that one says so.
 */
function pageFor({ path }: Route, me: WhoAmI): ReactNode {
  const admin = me.role === 'admin';
  const [section = '', param] = path;
  switch (section) {
    case '':
      return <Dashboard me={me} />;
    case 'sites':
      return param ? <SitePage key={param} domain={param} me={me} /> : <SitesPage me={me} />;
    case 'tasks':
      return param ? <TaskPage key={param} id={param} me={me} /> : <TasksPage me={me} />;
    case 'projects':
      return param ? <ProjectPage key={param} name={param} /> : <ProjectsPage me={me} />;
  }
  if (!admin && ADMIN_SECTIONS.has(section)) return <Dashboard me={me} />;
  switch (section) {
    case 'platforms':
      return param ? <PlatformPage key={param} name={param} /> : <PlatformsPage />;
    case 'servers':
      return <ServersPage />;
    case 'clusters':
      if (param) return <ClusterPage key={param} name={param} />;
      break;
    case 'clients':
      return <ClientsPage />;
    case 'backups':
      return <BackupsPage />;
    case 'audit':
      return <AuditPage />;
  }
  return <NotFound />;
}

function NotFound() {
  useTitle('Not found');
  return (
    <div>
      <h1>No such page</h1>
      <p>
        Nothing lives at <code>{window.location.hash}</code>. <a href="#/">The dashboard</a> links to
        everything there is.
      </p>
    </div>
  );
}

export function App() {
  const token = useSyncExternalStore(session.subscribe, session.token);
  const client = useQueryClient();
  // Signed out (by the button or a 401 anywhere): nothing read with the old token stays around.
  useEffect(() => {
    if (token === null) client.clear();
  }, [token, client]);
  if (token === null) return <SignIn />;
  return <SignedIn token={token} />;
}

function SignedIn({ token }: { token: string }) {
  const route = useRoute();
  const me = useQuery({
    queryKey: keys.me(token),
    queryFn: ({ signal }) => get<WhoAmI>('/api/auth/me', signal),
    staleTime: Infinity,
  });
  const pathKey = route.path.join('/');
  // A new page starts at its top; a new page of the same list keeps the place.
  // Braces: newer browsers return a promise from scrollTo, and an effect may return only a cleanup.
  useEffect(() => {
    window.scrollTo(0, 0);
  }, [pathKey]);

  if (me.isPending) return <p className="loading">Loading…</p>;
  if (!me.data) return <Problem message={`Cannot read who you are: ${errorMessage(me.error) ?? ''}`} />;
  const who = me.data;
  const [section = ''] = route.path;
  return (
    <>
      <a className="skip" href="#content" onClick={skipToContent}>
        Skip to the page
      </a>
      <header className="top">
        <a href="#/" className="brand">
          Berth
        </a>
        <nav aria-label="Pages">
          <ul>
            {NAV.filter((item) => !item.admin || who.role === 'admin').map((item) => {
              const here = item.section === section || (item.section === 'servers' && section === 'clusters');
              return (
                <li key={item.section}>
                  <a
                    href={href(item.section ? [item.section] : [])}
                    className={here ? 'here' : undefined}
                    aria-current={here && route.path.length <= 1 ? 'page' : undefined}
                  >
                    {item.label}
                  </a>
                </li>
              );
            })}
          </ul>
        </nav>
        <span className="who">
          {who.role === 'admin' ? 'admin' : `client ${who.client ?? ''}`} · {who.name}
        </span>
        <button type="button" className="link" onClick={() => session.signOut()}>
          Sign out
        </button>
      </header>
      <main id="content" tabIndex={-1}>
        {pageFor(route, who)}
      </main>
    </>
  );
}

/** The skip link's target is an element, not a route: focus it without touching the hash. */
function skipToContent(event: MouseEvent<HTMLAnchorElement>) {
  event.preventDefault();
  document.getElementById('content')?.focus();
}

function SignIn() {
  const client = useQueryClient();
  const [token, setToken] = useState('');
  const [problem, setProblem] = useState<string>();
  useTitle('Sign in');
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const candidate = token.trim();
    try {
      const who = await request<WhoAmI>('GET', '/api/auth/me', { token: candidate });
      client.setQueryData(keys.me(candidate), who);
      session.signIn(candidate);
    } catch (error) {
      setProblem(
        error instanceof ApiError && error.status === 401
          ? 'That token is not valid (unknown or revoked).'
          : `Cannot sign in: ${errorMessage(error)}`,
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
