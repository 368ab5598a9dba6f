import { useQuery } from '@tanstack/react-query';
import { useEffect, useRef, type KeyboardEvent, type RefObject } from 'react';
import type { MigrateCandidate, MigrateCheck } from '../../../../shared/src/api.js';
import { encode, get } from '../api.js';
import { errorMessage, keys } from '../query.js';
import { Badge, Problem } from '../util.js';

/** Every platform the site could move to, each with Aegir's package comparison. */
async function loadChecks(domain: string, signal: AbortSignal): Promise<MigrateCheck[]> {
  const { items } = await get<{ items: MigrateCandidate[] }>(
    `/api/sites/${encode(domain)}/migrate-candidates`,
    signal,
  );
  return Promise.all(
    items.map((candidate) =>
      get<MigrateCheck>(
        `/api/sites/${encode(domain)}/migrate-check?platform=${encode(candidate.name)}`,
        signal,
      ),
    ),
  );
}

const FOCUSABLE =
  'a[href], button:not(:disabled), input:not(:disabled), select:not(:disabled), textarea:not(:disabled), summary, [tabindex]:not([tabindex="-1"])';

/**
 * Keeps Tab and Shift+Tab among the dialog's own controls: a modal <dialog> makes the page behind
 * it inert, but Tab past its last control would still leave it for the browser's own UI.
 */
function trapTab(event: KeyboardEvent<HTMLDialogElement>): void {
  if (event.key !== 'Tab') return;
  const controls = [...event.currentTarget.querySelectorAll<HTMLElement>(FOCUSABLE)].filter(
    (element) => element.getClientRects().length > 0,
  );
  const first = controls[0];
  const last = controls.at(-1);
  if (!first || !last) return;
  const here = document.activeElement;
  const outside = !(here instanceof Node) || !event.currentTarget.contains(here);
  if (event.shiftKey && (here === first || outside)) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && (here === last || outside)) {
    event.preventDefault();
    first.focus();
  }
}

/**
 * The migrate dialog: a modal <dialog> (showModal: the page behind is inert), focus on its first
 * control when it opens, Tab kept inside, Escape or a click outside closes it, and focus goes back
 * to the button that opened it.
 */
export function MigrateDialog(props: {
  domain: string;
  /** The button that opened it: focus returns there. */
  returnFocusTo: RefObject<HTMLElement | null>;
  onClose: () => void;
  start: (path: string, body?: unknown) => void;
}) {
  const { domain, returnFocusTo, onClose } = props;
  const dialog = useRef<HTMLDialogElement>(null);
  const closeButton = useRef<HTMLButtonElement>(null);
  // Read once per opening: the comparison changes only when a platform or the site does.
  const checks = useQuery({
    queryKey: [...keys.site(domain), 'migrate-checks'],
    queryFn: ({ signal }) => loadChecks(domain, signal),
    staleTime: 0,
    gcTime: 0,
  });

  useEffect(() => {
    const element = dialog.current;
    const opener = returnFocusTo.current;
    if (element && !element.open) element.showModal();
    closeButton.current?.focus();
    return () => {
      // Not element.close(): its close event would arrive after React has moved on (and under
      // StrictMode's second mount, close the dialog it just opened). Unmounting ends the modal.
      if (opener?.isConnected) opener.focus();
    };
  }, [returnFocusTo]);

  const close = () => dialog.current?.close();
  const data = checks.data;
  return (
    <dialog
      ref={dialog}
      className="dialog"
      aria-labelledby="migrate-title"
      onKeyDown={trapTab}
      // Escape closes a modal <dialog> by itself; the close event is where the page learns of it.
      onClose={onClose}
      // A click on the backdrop lands on the <dialog> itself, outside its inner box.
      onClick={(event) => event.target === event.currentTarget && close()}
    >
      <div className="dialog-body">
        <header>
          <h2 id="migrate-title">Migrate {domain}</h2>
          <button ref={closeButton} type="button" className="link" onClick={close} aria-label="Close">
            ✕
          </button>
        </header>
        <p className="hint">
          A backup, a rehearsal on a throwaway copy, then an offline window only as long as the database
          updates; rolled back on failure. A missing package is a warning, a lower schema version refuses.
        </p>
        <Problem message={errorMessage(checks.error)} />
        {!data && !checks.error && <p className="loading">Comparing packages…</p>}
        {data?.length === 0 && <p className="empty">No other verified platform to move to.</p>}
        {data?.map((report) => (
          <section key={report.platform} className="candidate" aria-label={`Move to ${report.platform}`}>
            <h3>
              {report.platform}{' '}
              <span className="summary">
                {report.errors} errors · {report.warnings} warnings · {report.upgrades} upgrades
              </span>
            </h3>
            <div className="table-scroll">
              <table className="compatibility">
                <thead>
                  <tr>
                    <th scope="col">Package</th>
                    <th scope="col">Site</th>
                    <th scope="col">Target</th>
                    <th scope="col">Schema</th>
                    <th scope="col">Post-updates</th>
                    <th scope="col">Result</th>
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
            </div>
            <button
              type="button"
              disabled={report.errors > 0}
              className={report.warnings > 0 ? 'danger' : undefined}
              onClick={() => {
                const risky = report.warnings > 0;
                if (risky && !window.confirm(`Migrate despite ${report.warnings} warnings?`)) return;
                props.start('migrate', { platform: report.platform, force: risky });
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
    </dialog>
  );
}
