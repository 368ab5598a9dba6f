import type { Workflow } from '../../tasks/workflow.js';
import { SiteSteps, VERIFY_MAKES_POOL, vhostOf, type SiteTaskDependencies } from './site-steps.js';

/**
 * Verify: drush status, an HTTP probe, and the site's packages and schema versions recorded. From
 * version 2 it first writes everything of the site on each of its servers again as the registry
 * has it (its pool, given one if it had none, its settings, its vhost), as Aegir's verify does.
 */
export function verifyWorkflow(deps: SiteTaskDependencies): Workflow<'site.verify'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const found = await steps.place(context, context.task.targetId, context.task.targetName);
    const place =
      context.task.workflowVersion >= VERIFY_MAKES_POOL ? await steps.ownPool(context, found) : found;
    if (context.task.workflowVersion >= VERIFY_MAKES_POOL && place.status === 'enabled') {
      await steps.writeSettings(context, place);
      await steps.onHeads(context, place, 'http.write-vhost', () => vhostOf(place));
    }
    const status = await context.step(place.web, 'app.status', place.on);
    const expectStatus = place.status === 'disabled' ? [503, 200] : [200];
    // Every head answers for it.
    const [probe] = await steps.onHeads(context, place, 'probe.http', () => ({
      domain: place.domain,
      expectStatus,
    }));
    const recorded = await steps.recordPackages(context, place);
    await context.record('sites.setStatus', () => deps.sites.setStatus(place.siteId, place.status, true));
    return {
      drupalVersion: status.drupalVersion,
      bootstrap: status.bootstrap,
      probe: probe!.status,
      ...recorded,
    };
  };
}

/** Disable: the vhost answers 503 from a static page; the site's files and database stay. */
export function disableWorkflow(deps: SiteTaskDependencies): Workflow<'site.disable'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const place = await steps.place(context, context.task.targetId, context.task.targetName);
    await steps.switchVhosts(context, place, { ...vhostOf(place), disabled: true }, vhostOf(place));
    await context.record('sites.setStatus', () => deps.sites.setStatus(place.siteId, 'disabled'));
    return { status: 'disabled' };
  };
}

/** Enable: the site's own vhost again, probed. */
export function enableWorkflow(deps: SiteTaskDependencies): Workflow<'site.enable'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const place = await steps.place(context, context.task.targetId, context.task.targetName);
    await steps.switchVhosts(context, place, vhostOf(place), { ...vhostOf(place), disabled: true });
    await steps.onHeads(context, place, 'probe.http', () => ({ domain: place.domain, expectStatus: [200] }));
    await context.record('sites.setStatus', () => deps.sites.setStatus(place.siteId, 'enabled'));
    return { status: 'enabled' };
  };
}

/** Login reset: a one-time login link for the site's first user. */
export function loginResetWorkflow(deps: SiteTaskDependencies): Workflow<'site.login-reset'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const place = await steps.place(context, context.task.targetId, context.task.targetName);
    const link = await context.step(place.web, 'app.login-link', place.on);
    return { url: link.url };
  };
}

/** Cron: Drupal's cron once, on the app head (a cluster's sites share one database: once is enough). */
export function cronWorkflow(deps: SiteTaskDependencies): Workflow<'site.cron'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const place = await steps.place(context, context.task.targetId, context.task.targetName);
    const started = await context.record('clock.now', () => Promise.resolve(Date.now()));
    await context.step(place.web, 'app.cron', place.on);
    const durationMs = await context.record('clock.since', () => Promise.resolve(Date.now() - started));
    return { durationMs };
  };
}

/**
 * Release-old: the site's copy on the server it moved from goes (the vhost that passed its
 * requests on, the link, the directory, the database account), once the move is settled: asked
 * for (`berth site release-old`), or by the master when the grace period is over.
 */
export function releaseOldWorkflow(deps: SiteTaskDependencies): Workflow<'site.release-old'> {
  const steps = new SiteSteps(deps);
  return async (context) => {
    const place = await steps.place(context, context.task.targetId, context.task.targetName);
    return { released: await steps.releaseOld(context, place) };
  };
}
