import { describe, expect, it } from 'vitest';
import { SITE_ACTIONS, SITE_STATUSES, siteActions, statesOffering } from './site-actions.js';
import { isTaskType } from './tasks.js';

describe('siteActions', () => {
  it('offers only enable and delete for a disabled site, as Aegir does', () => {
    expect(siteActions('disabled')).toEqual(['enable', 'delete']);
  });

  it('offers an enabled site every task but enable and delete', () => {
    const offered = siteActions('enabled');
    expect(offered).toEqual(expect.arrayContaining(['verify', 'backup', 'restore', 'migrate', 'disable']));
    expect(offered).not.toContain('enable');
    expect(offered).not.toContain('delete');
  });

  it('offers nothing while installing, and nothing for an unknown state', () => {
    expect(siteActions('installing')).toEqual([]);
    expect(siteActions('exploded')).toEqual([]);
  });

  it('names the states that offer an action, for the refusal message', () => {
    expect(statesOffering('enable')).toEqual(['disabled']);
    expect(statesOffering('migrate')).toEqual(['enabled']);
    expect(statesOffering('delete')).toEqual(['disabled']);
    for (const status of SITE_STATUSES) {
      for (const action of siteActions(status)) expect(statesOffering(action)).toContain(status);
    }
  });
});

describe('SITE_ACTIONS', () => {
  it('are the site task types that a site offers, in the order the web UI shows them', () => {
    expect(SITE_ACTIONS).toEqual([
      'verify',
      'backup',
      'backup-verify',
      'restore',
      'login-reset',
      'cron',
      'migrate',
      'clone',
      'rename',
      'disable',
      'enable',
      'delete',
    ]);
    for (const action of SITE_ACTIONS) expect(isTaskType(`site.${action}`)).toBe(true);
  });
});
