import { booleanValue } from '../params.js';
import type { StepHandler } from '../step.js';
import { drupal, siteParamsWith } from './common.js';

/** Read-only mode on or off (module readonlymode): pages served, writes refused. */
export const appReadonly: StepHandler<'app.readonly'> = {
  name: 'app.readonly',
  parseParams: (input) =>
    siteParamsWith(input, ['on'], [], (params) => ({ on: booleanValue('on', params.on) })),
  async run(params, context) {
    await drupal(context, params).setReadonly(params.on);
    context.note(`read-only mode ${params.on ? 'on' : 'off'} for ${params.domain}`);
    return { on: params.on };
  },
};
