import { parsePhpSettings, validatePoolName } from '../../../../shared/src/php-pool.js';
import { ValidationError } from '../../../../shared/src/validation.js';
import { integerValue, parseWith } from '../params.js';
import type { StepHandler } from '../step.js';
import { domainValue } from '../site/common.js';
import { writeSitePool } from './pool-files.js';

/** The lowest uid a site user may have: below are Debian's system accounts. */
export const SITE_UID_MIN = 1000;
/** The highest: the kernel's uids are 32 bits, and some tools still read them as signed. */
export const SITE_UID_MAX = 2_147_483_646;

/**
 * Gives a site its own PHP-FPM pool: its user and group (made when missing), the pool file tested
 * and loaded with a graceful reload (the previous one back when either fails), then the site's
 * files given to that user. See StepDefinitions['php.write-pool'] and pool-files.ts.
 */
export const phpWritePool: StepHandler<'php.write-pool'> = {
  name: 'php.write-pool',
  parseParams: (input) =>
    parseWith(input, ['domain', 'user', 'uid', 'settings'], ['sharesWith'], (params) => {
      const user = validatePoolName('user', params.user);
      if (user === 'root') throw new ValidationError({ field: 'user', message: 'a site never runs as root' });
      const uid = integerValue('uid', params.uid, SITE_UID_MIN, SITE_UID_MAX);
      if (uid === 65_534) throw new ValidationError({ field: 'uid', message: "uid 65534 is nobody's" });
      const settings = params.settings;
      if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
        throw new ValidationError({
          field: 'settings',
          message: 'settings must be an object of PHP settings',
        });
      }
      return {
        domain: domainValue('domain', params.domain),
        user,
        uid,
        settings: parsePhpSettings(settings as Record<string, unknown>),
        ...(params.sharesWith !== undefined
          ? { sharesWith: domainValue('sharesWith', params.sharesWith) }
          : {}),
      };
    }),
  run: (params, context) => writeSitePool(context, params),
};
