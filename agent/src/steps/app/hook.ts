import { deployHookArgv, validateDeployHooks } from '../../../../shared/src/deploy-hooks.js';
import { must } from '../../../../shared/src/validation.js';
import type { StepHandler } from '../step.js';
import { drupal, siteParamsWith } from './common.js';

/** A hook that runs longer than this hangs (a config import of thousands of items takes minutes). */
const HOOK_TIMEOUT_MS = 30 * 60_000;

/**
 * Runs one deploy hook on a site (config:import, deploy:hook ...): the drush command the hook names,
 * built here from the vocabulary, never taken from the master as argv. Fails with drush's stderr.
 */
export const appHook: StepHandler<'app.hook'> = {
  name: 'app.hook',
  parseParams: (input) =>
    siteParamsWith(input, ['hook'], [], (params) => ({
      hook: must(validateDeployHooks('hook', [params.hook]))[0]!,
    })),
  async run(params, context) {
    const started = Date.now();
    await drupal(context, params).run(deployHookArgv(params.hook), { timeoutMs: HOOK_TIMEOUT_MS });
    const durationMs = Date.now() - started;
    context.note(`${params.hook} on ${params.domain}: ${durationMs} ms`);
    return { hook: params.hook, durationMs };
  },
};
