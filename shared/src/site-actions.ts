/**
 * Which tasks a site offers in each state: the buttons of its page in the web UI, the `actions` of
 * GET /api/sites/{domain}, and the state checks of the API's state-changing site tasks. Aegir's rule:
 * a disabled site offers only enable and delete; an enabled one everything but enable (delete needs
 * it disabled first); a site being installed offers nothing yet.
 */

export const SITE_STATUSES = ['installing', 'enabled', 'disabled', 'failed', 'deleted'] as const;
export type SiteStatus = (typeof SITE_STATUSES)[number];

export const SITE_ACTIONS = [
  'verify',
  'backup',
  'restore',
  'login-reset',
  'migrate',
  'clone',
  'rename',
  'disable',
  'enable',
  'delete',
] as const;
export type SiteAction = (typeof SITE_ACTIONS)[number];

const OFFERED: Record<SiteStatus, readonly SiteAction[]> = {
  installing: [],
  enabled: ['verify', 'backup', 'restore', 'login-reset', 'migrate', 'clone', 'rename', 'disable'],
  disabled: ['enable', 'delete'],
  failed: [],
  deleted: [],
};

export function siteActions(status: string): readonly SiteAction[] {
  return (SITE_STATUSES as readonly string[]).includes(status) ? OFFERED[status as SiteStatus] : [];
}

/** The states in which a site offers an action, for messages ("only an enabled site ..."). */
export function statesOffering(action: SiteAction): SiteStatus[] {
  return SITE_STATUSES.filter((status) => OFFERED[status].includes(action));
}
