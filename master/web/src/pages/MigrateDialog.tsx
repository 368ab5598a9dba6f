import type { MigrateCandidate, MigrateCheck } from '../../../../shared/src/api.js';
import { api, encode } from '../api.js';
import { Badge, Problem, usePolled } from '../util.js';

/** Every platform the site could move to, each with Aegir's package comparison and a Migrate button. */
async function loadChecks(domain: string): Promise<MigrateCheck[]> {
  const { items } = await api<{ items: MigrateCandidate[] }>(
    'GET',
    `/api/sites/${encode(domain)}/migrate-candidates`,
  );
  return Promise.all(
    items.map((candidate) =>
      api<MigrateCheck>(
        'GET',
        `/api/sites/${encode(domain)}/migrate-check?platform=${encode(candidate.name)}`,
      ),
    ),
  );
}

export function MigrateDialog(props: {
  domain: string;
  onClose: () => void;
  start: (path: string, body?: unknown) => Promise<void>;
}) {
  const { data, error } = usePolled(() => loadChecks(props.domain), 0, [props.domain]);
  return (
    <div className="overlay" onClick={props.onClose}>
      <div
        className="dialog"
        role="dialog"
        aria-modal="true"
        aria-labelledby="migrate-title"
        onClick={(event) => event.stopPropagation()}
      >
        <header>
          <h2 id="migrate-title">Migrate {props.domain}</h2>
          <button type="button" className="link" onClick={props.onClose} aria-label="Close">
            ✕
          </button>
        </header>
        <p className="hint">
          A backup, a rehearsal on a throwaway copy, then an offline window only as long as the database
          updates; rolled back on failure. A missing package is a warning, a lower schema version refuses.
        </p>
        <Problem message={error} />
        {!data && !error && <p className="loading">Comparing packages…</p>}
        {data?.length === 0 && <p className="empty">No other verified platform to move to.</p>}
        {data?.map((report) => (
          <section key={report.platform} className="candidate" aria-label={`Move to ${report.platform}`}>
            <h3>
              {report.platform}{' '}
              <span className="summary">
                {report.errors} errors · {report.warnings} warnings · {report.upgrades} upgrades
              </span>
            </h3>
            <table className="compatibility">
              <thead>
                <tr>
                  <th>Package</th>
                  <th>Site</th>
                  <th>Target</th>
                  <th>Schema</th>
                  <th>Post-updates</th>
                  <th>Result</th>
                </tr>
              </thead>
              <tbody>
                {report.rows.map((row) => (
                  <tr key={`${row.type}:${row.name}`} className={`row-${row.severity}`}>
                    <td>{row.name}</td>
                    <td>{row.siteVersion ?? '–'}</td>
                    <td>{row.targetVersion ?? 'missing'}</td>
                    <td>
                      {row.siteSchema} → {row.targetSchema ?? '–'}
                    </td>
                    <td>{row.pendingPostUpdates > 0 ? row.pendingPostUpdates : '–'}</td>
                    <td>
                      <Badge value={row.status} /> {row.message}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <button
              type="button"
              disabled={report.errors > 0}
              className={report.warnings > 0 ? 'danger' : undefined}
              onClick={() => {
                const risky = report.warnings > 0;
                if (risky && !window.confirm(`Migrate despite ${report.warnings} warnings?`)) return;
                void props.start('migrate', { platform: report.platform, force: risky });
              }}
            >
              {report.errors > 0
                ? `Cannot migrate to ${report.platform}`
                : report.warnings > 0
                  ? `Migrate to ${report.platform} despite warnings`
                  : `Migrate to ${report.platform}`}
            </button>
          </section>
        ))}
      </div>
    </div>
  );
}
