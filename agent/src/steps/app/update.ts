import type { StepHandler } from '../step.js';
import { drupal, siteOnPlatformParams } from './common.js';

/** Runs the site's pending database updates (updatedb); fails with drush's stderr when one fails. */
export const appUpdate: StepHandler<'app.update'> = {
  name: 'app.update',
  parseParams: siteOnPlatformParams,
  async run(params, context) {
    const site = drupal(context, params);
    const pendingBefore = await site.pendingUpdates();
    context.note(pendingBefore.length > 0 ? `${pendingBefore.length} pending updates` : 'no pending updates');
    await site.update();
    return { pendingBefore };
  },
};
