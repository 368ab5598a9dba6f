import { useQuery } from '@tanstack/react-query';
import type { Environment, Project } from '../../../../shared/src/api.js';
import { encode, get } from '../api.js';
import { errorMessage, keys, POLL } from '../query.js';
import { href, useTitle } from '../router.js';
import { Badge, formatTime, Problem } from '../util.js';

/** Every project (a client sees its own), each with its environments side by side. */
export function ProjectsPage() {
  useTitle('Projects');
  const { data, error } = useQuery({
    queryKey: keys.projects,
    queryFn: ({ signal }) => get<Project[]>('/api/projects', signal),
    refetchInterval: POLL.slow,
  });
  if (!data) return <Problem message={errorMessage(error)} />;
  return (
    <div className="projects-page">
      <h1>Projects</h1>
      {data.length === 0 && (
        <p className="empty">
          No projects yet: berth project add NAME, then berth env add NAME dev --site DOMAIN
        </p>
      )}
      {data.map((project) => (
        <ProjectSection key={project.id} project={project} />
      ))}
    </div>
  );
}

/** One project: #/projects/<name>. */
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
      <h2 id={`project-${project.id}`}>
        <a href={href(['projects', project.name])}>{project.name}</a>
        {project.client && <span className="muted"> · client {project.client}</span>}
      </h2>
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
      <h3>{env.name}</h3>
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
