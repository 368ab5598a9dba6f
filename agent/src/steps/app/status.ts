import type { StepHandler } from '../step.js';
import { drupal, siteOnPlatformParams } from './common.js';

/** What drush status says of the site (no password field, ever). */
export const appStatus: StepHandler<'app.status'> = {
  name: 'app.status',
  parseParams: siteOnPlatformParams,
  async run(params, context) {
    return drupal(context, params).status();
  },
};
