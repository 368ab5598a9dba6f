import { useQuery } from '@tanstack/react-query';
import type { Environment, Project, WhoAmI } from '../../../../shared/src/api.js';
import { encode, get } from '../api.js';
import { Filters, SearchBox } from '../filters.js';
import { errorMessage, keys, POLL, usePage } from '../query.js';
import { href, useFilters, usePager, useTitle } from '../router.js';
import { PagedTable, type Column } from '../table.js';
import { Badge, formatTime, Problem } from '../util.js';
import { PAGE_SIZE } from './SitesPage.js';

const FILTERS = ['q', 'client'] as const;

/** The project list's columns; the client's is an admin's (a client sees only its own). */
function projectColumns(admin: boolean): Array<Column<Project>> {
  return [
    {
      header: 'Name',
      cell: (project) => <a href={href(['projects', project.name])}>{project.name}</a>,
      sortBy: (project) => project.name,
    },
    ...(admin
      ? [
          {
            header: 'Client',
            cell: (project: Project) => project.client ?? '–',
            sortBy: (project: Project) => project.client,
          },
        ]
      : []),
    {
      header: 'Environments',
      cell: (project) =>
        project.environments.length === 0 ? (
          '–'
        ) : (
          <ol className="environment-chain" aria-label={`Environments of ${project.name}`}>
            {project.environments.map((env) => (
              <EnvironmentLink key={env.name} env={env} />
            ))}
          </ol>
        ),
      sortBy: (project) => project.environments.length,
    },
    {
      header: 'Added',
      cell: (project) => formatTime(project.createdAt),
      sortBy: (project) => Date.parse(project.createdAt),
    },
  ];
}

/** An environment in a project's row: its name, a link to its site, and the site's state. */
function EnvironmentLink({ env }: { env: Environment }) {
  return (
    <li>
      {env.site ? (
        <a href={href(['sites', env.site])} title={env.site}>
          {env.name}
        </a>
      ) : (
        <span title="site gone: berth env remove">{env.name}</span>
      )}{' '}
      {env.status && env.status !== 'enabled' && <Badge value={env.status} />}
    </li>
  );
}

/**
 * Projects (a client sees its own), a page of 50 at a time in name order, searched by a piece of
 * the name and, for admins, by client; each row links to the project's environments side by side.
 */
export function ProjectsPage({ me }: { me: WhoAmI }) {
  useTitle('Projects');
  const admin = me.role === 'admin';
  const { values, set } = useFilters(FILTERS);
  const pager = usePager();
  const projects = usePage<Project, Record<string, string | number | undefined>>(
    keys.projects,
    '/api/projects',
    { q: values.q, client: admin ? values.client : undefined, limit: PAGE_SIZE, cursor: pager.cursor },
    POLL.slow,
  );
  return (
    <div className="projects-page">
      <h1 id="projects">Projects</h1>
      <section aria-labelledby="projects">
        <Filters label="Search projects">
          <SearchBox
            label="Search"
            value={values.q}
            placeholder="a piece of the name"
            onChange={(q) => set({ q })}
          />
          {admin && (
            <SearchBox
              label="Client"
              type="text"
              value={values.client}
              placeholder="name"
              onChange={(client) => set({ client })}
            />
          )}
        </Filters>
        <PagedTable
          label="Projects"
          query={projects}
          pager={pager}
          columns={projectColumns(admin)}
          rowKey={(project) => project.id}
          order="In name order"
          empty={
            FILTERS.some((name) => values[name])
              ? 'No project matches.'
              : 'No projects yet: berth project add NAME, then berth env add NAME dev --site DOMAIN'
          }
        />
        <p className="hint">
          Code goes up a project&apos;s environments (<code>berth env deploy</code>), data comes down them (
          <code>berth env sync</code>); a project&apos;s page shows them side by side.
        </p>
      </section>
    </div>
  );
}

/** One project: #/projects/<name>, its environments side by side. */
export function ProjectPage({ name }: { name: string }) {
  useTitle(name, 'Projects');
  const { data, error } = useQuery({
    queryKey: [...keys.projects, 'one', name],
    queryFn: ({ signal }) => get<Project>(`/api/projects/${encode(name)}`, signal),
    refetchInterval: POLL.slow,
  });
  if (!data) return <Problem message={errorMessage(error)} />;
  return <ProjectSection project={data} />;
}

function ProjectSection({ project }: { project: Project }) {
  return (
    <section className="project" aria-labelledby={`project-${project.id}`}>
      <h1 id={`project-${project.id}`}>
        {project.name}
        {project.client && <span className="muted"> · client {project.client}</span>}
      </h1>
      <p className="muted">
        Code goes up the list (berth env deploy {project.name} --to ENV --ref REF), data comes down it (berth
        env sync {project.name} --from ENV --to ENV), scrubbed with drush {project.sanitize}.
      </p>
      {project.environments.length === 0 ? (
        <p className="empty">No environments yet: berth env add {project.name} dev --site DOMAIN</p>
      ) : (
        <div className="environments">
          {project.environments.map((env) => (
            <EnvironmentCard key={env.name} env={env} />
          ))}
        </div>
      )}
    </section>
  );
}

function EnvironmentCard({ env }: { env: Environment }) {
  return (
    <article className="environment" aria-label={`environment ${env.name}`}>
      <h2>{env.name}</h2>
      <dl className="facts">
        <dt>Site</dt>
        <dd>
          {env.site ? <a href={href(['sites', env.site])}>{env.site}</a> : 'site gone: berth env remove'}{' '}
          {env.status && <Badge value={env.status} />}
        </dd>
        <dt>Platform</dt>
        <dd>{env.platform ?? '–'}</dd>
        <dt>Code</dt>
        <dd title={env.code?.repository}>
          {env.code ? `${env.code.ref ?? '–'} ${env.code.commit?.slice(0, 12) ?? ''}` : "its platform's"}
        </dd>
        <dt>Last sync</dt>
        <dd>
          {env.lastSync ? (
            <>
              <a href={href(['tasks', env.lastSync.taskId])}>{env.lastSync.state}</a> from {env.lastSync.from}
              , {formatTime(env.lastSync.at)}
            </>
          ) : (
            '–'
          )}
        </dd>
      </dl>
    </article>
  );
}
