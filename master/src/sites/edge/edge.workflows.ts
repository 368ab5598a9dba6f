import { certificateNames, PLAIN_EDGE, type SiteEdge } from '../../../../shared/src/site-edge.js';
import {
  registerWorkflow,
  TaskRefusedError,
  type Workflow,
  type WorkflowRegistration,
} from '../../tasks/workflow.js';
import { SiteSteps, vhostOf, type SitePlace, type SiteTaskDependencies } from '../tasks/site-steps.js';
import {
  headsWithoutCertificate,
  installUploaded,
  issueCertificates,
  type CertificateDependencies,
} from './certificates.js';
import { applyEdgeChange } from './edge-change.js';

export type EdgeWorkflowDependencies = SiteTaskDependencies & CertificateDependencies;

/** The site's vhost as it is now: a disabled site stays disabled. */
function liveVhostOf(place: SitePlace) {
  return { ...vhostOf(place), ...(place.status === 'disabled' ? { disabled: true } : {}) };
}

/** The workflows of sites' web edge. */
export function edgeWorkflows(deps: EdgeWorkflowDependencies): WorkflowRegistration[] {
  return [
    registerWorkflow('site.edge', 1, edgeWorkflow(deps)),
    registerWorkflow('site.certificate', 1, certificateWorkflow(deps)),
  ];
}

/**
 * A change to a site's edge: its settings (trusted hosts, pool) and vhost written again on every
 * server of it with the new edge; with Let's Encrypt, a certificate for the servers whose own does
 * not cover every name, then the vhost once more, now serving HTTPS with it; the registry last.
 * On failure every server goes back to the edge it had.
 */
export function edgeWorkflow(deps: EdgeWorkflowDependencies): Workflow<'site.edge'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const change = context.task.params.change;
    const found = await steps.place(context, context.task.targetId, context.task.targetName);
    // PHP settings are a pool's: a site from before pools gets one first.
    const before = change.kind === 'php' ? await steps.ownPool(context, found) : found;
    let edge: SiteEdge;
    try {
      edge = applyEdgeChange(before.domain, before.edge, change);
    } catch (error) {
      throw new TaskRefusedError((error as Error).message);
    }
    const place: SitePlace = { ...before, edge };

    context.onRollback('every server back to the edge it had', async () => {
      await steps.writeSettings(context, before);
      await steps.onHeads(context, before, 'http.write-vhost', () => liveVhostOf(before));
    });
    await steps.writeSettings(context, place);
    await steps.onHeads(context, place, 'http.write-vhost', () => liveVhostOf(place));

    let notAfter: string | null = null;
    if (edge.https?.mode === 'letsencrypt') {
      const missing = await headsWithoutCertificate(context, steps, place, deps);
      if (missing.length > 0) {
        notAfter = await issueCertificates(context, steps, place, missing, deps);
        // The vhost again: now with the certificate it could not name before.
        await steps.onHeads(context, place, 'http.write-vhost', () => liveVhostOf(place));
      }
    }
    if (edge.https?.mode === 'uploaded' && change.kind === 'https') {
      // The pair the operator uploaded (checked then), on every server; then vhosts that name it.
      notAfter = await installUploaded(context, steps, place, steps.heads(place), deps);
      await steps.onHeads(context, place, 'http.write-vhost', () => liveVhostOf(place));
    }
    if (!edge.https && before.edge?.https) {
      await steps.onHeads(context, place, 'tls.remove', () => ({ domain: place.domain }));
      await context.record('certificates.forget', () => deps.certificates.forget(place.siteId, []));
    }
    await steps.onHeads(context, place, 'probe.http', () => ({ domain: place.domain, expectStatus: [200] }));
    await context.record('edges.setEdge', () => deps.edges.setEdge(place.siteId, edge));
    return {
      aliases: edge.aliases,
      redirects: edge.redirects,
      https: edge.https?.mode ?? 'off',
      certificateNotAfter: notAfter,
      poolUser: edge.pool?.user ?? null,
    };
  };
}

/**
 * A renewal: a new key and certificate on every server of the site, for every name it has now
 * (a name added since is covered from now on). The old pair serves until the new one is in place;
 * a failure leaves it serving, and the task fails like any other (notifications, the task list).
 */
export function certificateWorkflow(deps: EdgeWorkflowDependencies): Workflow<'site.certificate'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const place = await steps.place(context, context.task.targetId, context.task.targetName);
    const edge = place.edge ?? PLAIN_EDGE;
    if (!edge.https) throw new TaskRefusedError(`${place.domain} has HTTPS off: no certificate to issue`);
    const all = steps.heads(place);
    // Let's Encrypt: a new one on every server. Uploaded: the operator's, on the servers without it.
    const heads =
      edge.https.mode === 'letsencrypt' ? all : await headsWithoutCertificate(context, steps, place, deps);
    const notAfter =
      edge.https.mode === 'letsencrypt'
        ? await issueCertificates(context, steps, place, heads, deps)
        : await installUploaded(context, steps, place, heads, deps);
    // A server that had none serves HTTPS only once its vhost names the new one.
    await steps.onHeads(context, place, 'http.write-vhost', () => liveVhostOf(place));
    // The servers the site left keep no certificate of it in the registry.
    await context.record('certificates.forget', () =>
      deps.certificates.forget(
        place.siteId,
        all.map((head) => head.id),
      ),
    );
    return {
      names: certificateNames(place.domain, edge),
      notAfter: notAfter ?? '',
      servers: heads.map((head) => head.name),
    };
  };
}
