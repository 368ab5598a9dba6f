import type { StepHandler } from '../step.js';
import { drupal, siteOnPlatformParams } from './common.js';

/** The site's installed modules and themes with their versions (pm:list --status=enabled). */
export const appPackages: StepHandler<'app.packages'> = {
  name: 'app.packages',
  parseParams: siteOnPlatformParams,
  async run(params, context) {
    return { packages: await drupal(context, params).packages() };
  },
};
