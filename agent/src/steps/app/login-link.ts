import { ValidationError } from '../../../../shared/src/validation.js';
import { integerValue } from '../params.js';
import type { StepHandler } from '../step.js';
import { drupal, siteParamsWith, textValue } from './common.js';

/** A one-time login link (user:login); the link is in the output only, never in the task log. */
export const appLoginLink: StepHandler<'app.login-link'> = {
  name: 'app.login-link',
  parseParams: (input) =>
    siteParamsWith(input, [], ['uid', 'name'], (params) => {
      if (params.uid !== undefined && params.name !== undefined) {
        throw new ValidationError({ field: 'uid', message: 'give uid or name, not both' });
      }
      return {
        ...(params.uid !== undefined ? { uid: integerValue('uid', params.uid, 1, 2 ** 31 - 1) } : {}),
        ...(params.name !== undefined ? { name: textValue('name', params.name, 60) } : {}),
      };
    }),
  async run(params, context) {
    const url = await drupal(context, params).loginLink(params);
    context.note(
      `one-time login link made for ${params.name ?? `uid ${params.uid ?? 1}`} (in the step output)`,
    );
    return { url };
  },
};
