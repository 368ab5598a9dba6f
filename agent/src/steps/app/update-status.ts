import type { StepHandler } from '../step.js';
import { drupal, siteOnPlatformParams } from './common.js';

/** The site's pending database updates (updatedb:status). */
export const appUpdateStatus: StepHandler<'app.update-status'> = {
  name: 'app.update-status',
  parseParams: siteOnPlatformParams,
  async run(params, context) {
    return { pending: await drupal(context, params).pendingUpdates() };
  },
};
