import { ValidationError } from '../../../../shared/src/validation.js';
import { DrupalSite } from '../../drivers/drupal.js';
import { parseWith } from '../params.js';
import { siteOnPlatformParams } from '../site/link.js';
import type { StepContext } from '../step.js';

export { siteOnPlatformParams };

/** The site's Drupal, through its platform's drush. */
export function drupal(context: StepContext, params: { domain: string; platform: string }): DrupalSite {
  return new DrupalSite(context, params.platform, params.domain);
}

/** A site with one more parameter or several (app.maintenance { on }, app.install { profile ... }). */
export function siteParamsWith<T extends object>(
  input: unknown,
  required: readonly string[],
  optional: readonly string[],
  build: (params: Record<string, unknown>) => T,
) {
  return parseWith(input, ['domain', 'platform', ...required], optional, (params) => {
    const site = siteOnPlatformParams({ domain: params.domain, platform: params.platform });
    if (!site.ok) throw new ValidationError(site.failure);
    return { ...site.value, ...build(params) };
  });
}

/** Free text that becomes one argv element (a site name): no control characters, bounded. */
// eslint-disable-next-line no-control-regex -- control characters are what is refused.
const controlCharacters = /[\x00-\x1f\x7f]/;

export function textValue(field: string, value: unknown, max: number): string {
  if (
    typeof value !== 'string' ||
    value.length === 0 ||
    value.length > max ||
    controlCharacters.test(value)
  ) {
    throw new ValidationError({
      field,
      message: `${field} must be 1-${max} characters without control characters`,
    });
  }
  return value;
}

export function machineNameValue(field: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[a-z][a-z0-9_]{0,63}$/.test(value)) {
    throw new ValidationError({ field, message: `${field} must be a Drupal machine name (a-z, 0-9, _)` });
  }
  return value;
}

export function mailValue(field: string, value: unknown): string {
  if (
    typeof value !== 'string' ||
    value.length > 254 ||
    !/^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/.test(value)
  ) {
    throw new ValidationError({ field, message: `${field} must be an e-mail address` });
  }
  return value;
}
