import { ValidationError } from '../../../../shared/src/validation.js';
import type { StepHandler } from '../step.js';
import { drupal, machineNameValue, mailValue, siteParamsWith, textValue } from './common.js';

/** Installs Drupal into the site (its settings and database must exist: site.write-settings, db.create). */
export const appInstall: StepHandler<'app.install'> = {
  name: 'app.install',
  parseParams: (input) =>
    siteParamsWith(
      input,
      ['profile'],
      ['siteName', 'accountName', 'accountMail', 'siteMail', 'locale'],
      (params) => {
        if (
          params.locale !== undefined &&
          !(typeof params.locale === 'string' && /^[a-z]{2,3}(-[a-z0-9]{2,8})?$/.test(params.locale))
        ) {
          throw new ValidationError({
            field: 'locale',
            message: 'locale must be a language code such as en or pt-br',
          });
        }
        return {
          profile: machineNameValue('profile', params.profile),
          ...(params.siteName !== undefined ? { siteName: textValue('siteName', params.siteName, 128) } : {}),
          ...(params.accountName !== undefined
            ? { accountName: textValue('accountName', params.accountName, 60) }
            : {}),
          ...(params.accountMail !== undefined
            ? { accountMail: mailValue('accountMail', params.accountMail) }
            : {}),
          ...(params.siteMail !== undefined ? { siteMail: mailValue('siteMail', params.siteMail) } : {}),
          ...(params.locale !== undefined ? { locale: params.locale } : {}),
        };
      },
    ),
  async run(params, context) {
    context.note(`installing ${params.domain} with profile ${params.profile} on platform ${params.platform}`);
    await drupal(context, params).install(params);
    return { profile: params.profile };
  },
};
