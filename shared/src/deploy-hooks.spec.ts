import { describe, expect, it } from 'vitest';
import { deployHookArgv, validateDeployHooks } from './deploy-hooks.js';

describe('deploy hooks', () => {
  it('accepts the vocabulary and allow-listed drush commands, in the given order', () => {
    expect(validateDeployHooks('hooks', ['config:import', 'drush:core:cron', 'cache:rebuild'])).toEqual({
      ok: true,
      value: ['config:import', 'drush:core:cron', 'cache:rebuild'],
    });
  });

  it('takes updatedb out when it is listed first (it always runs first) and refuses it later', () => {
    expect(validateDeployHooks('hooks', ['updatedb', 'deploy:hook'])).toEqual({
      ok: true,
      value: ['deploy:hook'],
    });
    const later = validateDeployHooks('hooks', ['deploy:hook', 'updatedb']);
    expect(later.ok).toBe(false);
    expect(!later.ok && later.failure.message).toMatch(/updatedb always runs first/);
  });

  it.each([
    [['drush:php:eval'], /is not a deploy hook/],
    [['drush:sql:query'], /is not a deploy hook/],
    [['config:import; rm -rf /'], /is not a deploy hook/],
    [['--uri=evil'], /is not a deploy hook/],
    [['cache:rebuild', 'cache:rebuild'], /listed twice/],
    ['config:import', /must be a list/],
    [[7], /is not a deploy hook/],
  ])('refuses %j', (input, message) => {
    const result = validateDeployHooks('hooks', input);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.failure.message).toMatch(message);
  });

  it('accepts every hook of the vocabulary once', () => {
    const all = ['config:import', 'cache:rebuild', 'deploy:hook', 'locale:update'];
    const drush = [
      'core:cron',
      'search-api:index',
      'simple-sitemap:generate',
      'image:flush',
      'views:invalidate-cache',
    ];
    expect(validateDeployHooks('hooks', [...all, ...drush.map((c) => `drush:${c}`)]).ok).toBe(true);
  });

  it('builds the drush argv itself: never an argument from the list', () => {
    expect(deployHookArgv('config:import')).toEqual(['config:import', '--yes']);
    expect(deployHookArgv('drush:core:cron')).toEqual(['core:cron']);
    expect(deployHookArgv('drush:image:flush')).toEqual(['image:flush', '--all']);
  });
});
