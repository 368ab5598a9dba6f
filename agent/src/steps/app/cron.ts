import type { StepHandler } from '../step.js';
import { drupal, siteOnPlatformParams } from './common.js';

/** Runs the site's cron (core:cron). */
export const appCron: StepHandler<'app.cron'> = {
  name: 'app.cron',
  parseParams: siteOnPlatformParams,
  async run(params, context) {
    await drupal(context, params).cron();
    return { ran: true };
  },
};
