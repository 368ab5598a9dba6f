/**
 * Which tasks a site offers in each state: the buttons of its page in the web UI, the `actions` of
 * GET /api/sites/{domain}, and the state checks of the API's state-changing site tasks. Derived from
 * the site task types that declare `offeredIn` (shared/src/tasks.ts), so they are listed once.
 */
import { SITE_STATUSES, type SiteStatus } from './site-status.js';
import { TASK_KINDS, TASK_TYPES, type TaskKind, type TaskType } from './tasks.js';

export { SITE_STATUSES, type SiteStatus };

type OfferedSiteTask = {
  [T in TaskType]: (typeof TASK_KINDS)[T] extends { offeredIn: readonly SiteStatus[] } ? T : never;
}[TaskType];

/** A site task by its action name: `migrate` is the task `site.migrate`. */
export type SiteAction = OfferedSiteTask extends `site.${infer Action}` ? Action : never;

const OFFERED_IN = new Map<SiteAction, readonly SiteStatus[]>();
for (const type of TASK_TYPES) {
  const kind: TaskKind = TASK_KINDS[type];
  if (kind.offeredIn) OFFERED_IN.set(type.slice('site.'.length) as SiteAction, kind.offeredIn);
}

export const SITE_ACTIONS: readonly SiteAction[] = [...OFFERED_IN.keys()];

export function siteActions(status: string): readonly SiteAction[] {
  return SITE_ACTIONS.filter((action) => (OFFERED_IN.get(action) as readonly string[]).includes(status));
}

/** The states in which a site offers an action, for messages ("only an enabled site ..."). */
export function statesOffering(action: SiteAction): SiteStatus[] {
  return [...(OFFERED_IN.get(action) ?? [])];
}
