import { booleanValue } from '../params.js';
import type { StepHandler } from '../step.js';
import { drupal, siteParamsWith } from './common.js';

/** Maintenance mode on or off (state system.maintenance_mode, which every web head reads). */
export const appMaintenance: StepHandler<'app.maintenance'> = {
  name: 'app.maintenance',
  parseParams: (input) =>
    siteParamsWith(input, ['on'], [], (params) => ({ on: booleanValue('on', params.on) })),
  async run(params, context) {
    await drupal(context, params).setMaintenance(params.on);
    context.note(`maintenance mode ${params.on ? 'on' : 'off'} for ${params.domain}`);
    return { on: params.on };
  },
};
