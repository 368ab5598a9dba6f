import { validateSanitizeCommand } from '../../../../shared/src/environments.js';
import { must } from '../../../../shared/src/validation.js';
import type { StepHandler } from '../step.js';
import { drupal, siteParamsWith } from './common.js';

/** Scrubbing a large copy (every user row) takes minutes; an hour is one that hangs. */
const SANITIZE_TIMEOUT_MS = 60 * 60_000;

/**
 * Scrubs a copy synced down from another environment (app.sanitize): drush sql:sanitize, or the
 * project's own <namespace>:sanitize, without arguments. Fails with drush's stderr.
 */
export const appSanitize: StepHandler<'app.sanitize'> = {
  name: 'app.sanitize',
  parseParams: (input) =>
    siteParamsWith(input, ['command'], [], (params) => ({
      command: must(validateSanitizeCommand('command', params.command)),
    })),
  async run(params, context) {
    const started = Date.now();
    await drupal(context, params).run([params.command, '--yes'], { timeoutMs: SANITIZE_TIMEOUT_MS });
    const durationMs = Date.now() - started;
    context.note(`${params.command} on ${params.domain}: ${durationMs} ms`);
    return { command: params.command, durationMs };
  },
};
