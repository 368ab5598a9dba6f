/** The states of a site in the registry. */
export const SITE_STATUSES = ['installing', 'enabled', 'disabled', 'failed', 'deleted'] as const;
export type SiteStatus = (typeof SITE_STATUSES)[number];
