import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import type { Platform, Server, Site, Task, WhoAmI } from '../../../../shared/src/api.js';
import { SITE_STATUSES } from '../../../../shared/src/site-status.js';
import { send } from '../api.js';
import { siteColumns } from '../columns.js';
import { Filters, FilterSelect, SearchBox, withCurrent } from '../filters.js';
import { errorMessage, keys, POLL, SITE_CHANGE, usePage } from '../query.js';
import { href, navigate, useFilters, usePager, useTitle } from '../router.js';
import { PagedTable } from '../table.js';
import { Problem } from '../util.js';

export const PAGE_SIZE = 50;
/** The most a list's page holds: the filter selects and the install form read one such page. */
export const CHOICES_LIMIT = 500;

const FILTERS = ['q', 'status', 'platform', 'server', 'client'] as const;

/** Sites are read every 3 s while one of those shown is being installed, else every 10 s. */
export function sitesInterval(page: { items: Site[] } | undefined): number {
  return page?.items.some((site) => site.status === 'installing') ? POLL.busy : POLL.calm;
}

/**
 * Every site (a client's own), a page of 50 at a time in domain order: searched by a piece of the
 * domain, filtered by state, platform, server and client; and, for admins, the install form.
 */
export function SitesPage({ me }: { me: WhoAmI }) {
  useTitle('Sites');
  const admin = me.role === 'admin';
  const filters = useFilters(FILTERS);
  const pager = usePager();
  const sites = usePage<Site, Record<string, string | number | undefined>>(
    keys.sites,
    '/api/sites',
    { ...filters.values, limit: PAGE_SIZE, cursor: pager.cursor },
    sitesInterval,
  );
  // What the selects offer: a page of at most 500 each (admins only: a client may not list them).
  const platforms = usePage<Platform, { limit: number }>(
    keys.platforms,
    '/api/platforms',
    { limit: CHOICES_LIMIT },
    POLL.rare,
    { enabled: admin },
  );
  const servers = usePage<Server, { limit: number }>(
    keys.servers,
    '/api/servers',
    { limit: CHOICES_LIMIT },
    POLL.rare,
    { enabled: admin },
  );
  const { values, set } = filters;
  return (
    <div className="sites-page">
      <h1 id="sites">Sites</h1>
      {admin && platforms.data && <InstallSite platforms={platforms.data.items} />}
      <Problem message={errorMessage(platforms.error)} />
      <section aria-labelledby="sites">
        <Filters label="Search and filter sites">
          <SearchBox
            label="Search"
            value={values.q}
            placeholder="a piece of the domain"
            onChange={(q) => set({ q })}
          />
          <FilterSelect
            label="Status"
            value={values.status}
            options={SITE_STATUSES}
            onChange={(status) => set({ status })}
          />
          {admin && (
            <FilterSelect
              label="Platform"
              value={values.platform}
              options={withCurrent(
                (platforms.data?.items ?? []).map((platform) => platform.name),
                values.platform,
              )}
              onChange={(platform) => set({ platform })}
            />
          )}
          {admin && (
            <FilterSelect
              label="Server"
              value={values.server}
              options={withCurrent(
                (servers.data?.items ?? []).map((server) => server.name),
                values.server,
              )}
              onChange={(server) => set({ server })}
            />
          )}
          {admin && (
            <SearchBox
              label="Client"
              type="text"
              value={values.client}
              placeholder="name"
              onChange={(client) => set({ client })}
            />
          )}
        </Filters>
        <PagedTable
          label="Sites"
          query={sites}
          pager={pager}
          columns={siteColumns(admin)}
          rowKey={(site) => site.id}
          order="In domain order"
          empty={FILTERS.some((name) => values[name]) ? 'No site matches.' : 'No sites yet.'}
        />
      </section>
    </div>
  );
}

function InstallSite({ platforms }: { platforms: Platform[] }) {
  // Sites do not go on cluster platforms yet (the master refuses them).
  const usable = platforms.filter(
    (platform) => platform.status === 'verified' && !platform.locked && platform.cluster === null,
  );
  const [domain, setDomain] = useState('');
  const [platform, setPlatform] = useState('');
  const chosen = platform || usable[0]?.name || '';
  const install = useMutation({
    mutationFn: (body: { domain: string; platform: string }) =>
      send<{ task: Task }>('POST', '/api/sites', body),
    meta: { invalidates: SITE_CHANGE },
    onSuccess: ({ task }) => navigate(href(['tasks', task.id])),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    install.mutate({ domain: domain.trim(), platform: chosen });
  };
  return (
    <section aria-labelledby="install">
      <h2 id="install">Install a site</h2>
      <form className="inline" onSubmit={submit}>
        <label>
          Domain
          <input
            name="domain"
            value={domain}
            placeholder="www.example.org"
            onChange={(e) => setDomain(e.target.value)}
          />
        </label>
        <label>
          Platform
          <select name="platform" value={chosen} onChange={(e) => setPlatform(e.target.value)}>
            {usable.map((option) => (
              <option key={option.id} value={option.name}>
                {option.name} (Drupal {option.coreVersion ?? '?'})
              </option>
            ))}
          </select>
        </label>
        <button type="submit" disabled={install.isPending || domain.trim() === '' || chosen === ''}>
          Install
        </button>
      </form>
      <Problem message={errorMessage(install.error)} />
    </section>
  );
}
