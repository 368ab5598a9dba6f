/**
 * Deploy hooks: what runs on a site after its code changed (a migrate to another platform, a
 * platform update's leap-frog), right after its database updates, in the rehearsal and again in
 * the window. An ordered list from a fixed vocabulary, each a drush command Berth builds itself:
 * never a shell string, never an argument the user types. Validated the same way on the master (the
 * API's 400s) and the agent (app.hook's params).
 */
import { fail, printable, type Validated } from './validation.js';

/** The hooks Berth knows, and the drush argv each one runs (after --root and --uri). */
export const DEPLOY_HOOK_COMMANDS = {
  /** Always first, whether listed or not: app.update runs it before any hook. */
  updatedb: ['updatedb', '--yes'],
  'config:import': ['config:import', '--yes'],
  'cache:rebuild': ['cache:rebuild'],
  'deploy:hook': ['deploy:hook', '--yes'],
  'locale:update': ['locale:update'],
} as const satisfies Record<string, readonly string[]>;

/**
 * Drush commands a hook may name as `drush:<command>`: ones that take no argument and only rebuild
 * what the site derives from its own data. Anything else (php:eval, sql:query, user:password ...)
 * could do what Berth's safety cannot undo or see.
 */
export const ALLOWED_DRUSH_HOOKS = [
  'core:cron',
  'search-api:index',
  'simple-sitemap:generate',
  'image:flush',
  'views:invalidate-cache',
] as const;

export type DeployHook =
  Exclude<keyof typeof DEPLOY_HOOK_COMMANDS, 'updatedb'> | `drush:${(typeof ALLOWED_DRUSH_HOOKS)[number]}`;

/** The drush argv of a valid hook. */
export function deployHookArgv(hook: DeployHook): readonly string[] {
  if (hook.startsWith('drush:')) {
    const command = hook.slice('drush:'.length);
    return command === 'image:flush' ? ['image:flush', '--all'] : [command];
  }
  return DEPLOY_HOOK_COMMANDS[hook as keyof typeof DEPLOY_HOOK_COMMANDS];
}

export function isDeployHook(value: unknown): value is DeployHook {
  if (typeof value !== 'string' || value === 'updatedb') return false;
  if (Object.hasOwn(DEPLOY_HOOK_COMMANDS, value)) return true;
  return (
    value.startsWith('drush:') &&
    (ALLOWED_DRUSH_HOOKS as readonly string[]).includes(value.slice('drush:'.length))
  );
}

/** The vocabulary as a person reads it in a refusal or --help. */
export function describeDeployHooks(): string {
  return [
    ...Object.keys(DEPLOY_HOOK_COMMANDS).filter((hook) => hook !== 'updatedb'),
    ...ALLOWED_DRUSH_HOOKS.map((command) => `drush:${command}`),
  ].join(', ');
}

/**
 * An ordered list of hooks. `updatedb` may be listed (people write it) but always runs first, so it
 * is taken out; a hook listed twice is refused (a list with a repeat is a mistake, not an intent),
 * so a list holds each hook of the vocabulary once at most.
 */
export function validateDeployHooks(field: string, input: unknown): Validated<DeployHook[]> {
  if (!Array.isArray(input))
    return fail(field, `${field} must be a list of hooks (${describeDeployHooks()})`);
  const hooks: DeployHook[] = [];
  for (const [index, item] of input.entries()) {
    if (item === 'updatedb' && index === 0) continue;
    if (item === 'updatedb') {
      return fail(
        field,
        `${field}: updatedb always runs first, before every other hook: list it first or not at all`,
      );
    }
    if (!isDeployHook(item)) {
      return fail(
        field,
        `${field}: "${printable(String(item))}" is not a deploy hook; hooks are ${describeDeployHooks()}`,
      );
    }
    if (hooks.includes(item)) return fail(field, `${field}: ${item} is listed twice`);
    hooks.push(item);
  }
  return { ok: true, value: hooks };
}
